"""From loaded results to what people read: cells and their statistics, views as tables,
renderers (Markdown, plain, CSV, JSON, HTML), plots, and the published files."""
