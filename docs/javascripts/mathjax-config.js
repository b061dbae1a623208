// MathJax 2 settings for lesson pages and Markdown pages with `math: true` (see overrides/main.html):
// Jupyter's delimiters ($...$, $$...$$) in notebooks, pymdownx.arithmatex's (\(...\), \[...\]) in Markdown.
window.MathJax = {
  tex2jax: {
    inlineMath: [["$", "$"], ["\\(", "\\)"]],
    displayMath: [["$$", "$$"], ["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  displayAlign: "center",
  messageStyle: "none",
  CommonHTML: { linebreaks: { automatic: true } },
};
