"""The `cnn-course` commands: each reads its arguments first and imports what it needs only when it runs."""
