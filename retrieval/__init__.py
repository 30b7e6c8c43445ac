"""policyqa: semantic search and cited answers over Chinese industrial-policy news."""
