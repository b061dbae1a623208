"""The instructor's tools: grade batches of submissions, export grades and feedback, release the course."""
