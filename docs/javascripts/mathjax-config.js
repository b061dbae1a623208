// MathJax 2 settings for lesson pages and Markdown pages with `math: true` (see overrides/main.html):
// Jupyter's delimiters ($...$, $$...$$) in notebooks, pymdownx.arithmatex's (\(...\), \[...\]) in Markdown.
// The site's copy of MathJax (from jupyter-server-mathjax) has the STIX-Web fonts only: use them, and
// never fall back to image fonts or fonts the reader would have to download.
window.MathJax = {
  tex2jax: {
    inlineMath: [["$", "$"], ["\\(", "\\)"]],
    displayMath: [["$$", "$$"], ["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  "HTML-CSS": {
    availableFonts: [],
    preferredFont: null,
    webFont: "STIX-Web",
    imageFont: null,
    linebreaks: { automatic: true },
  },
  displayAlign: "center",
  messageStyle: "none",
  menuSettings: { zoom: "None" },
};
