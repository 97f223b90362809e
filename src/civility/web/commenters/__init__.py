"""Commenters: who wrote a comment, once they proved it (a verified e-mail), their sanctions.

Direction of imports: `comments` imports this app (to link a new comment to its commenter and
to refuse a sanctioned one); this app never imports `comments`. Its models name
`comments.Comment` by string only."""
