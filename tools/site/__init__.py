"""The course website's builder (lesson pages, their run cache, figures and diagrams); works from a checkout."""
