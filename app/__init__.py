"""DataApp: real-time sales intelligence for retail chains."""
