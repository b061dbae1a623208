// A table wider than the page scrolls in Material's wrapper: a keyboard must reach it to scroll it
// (WCAG 2.1.1), so the wrapper joins the tab order, named by the table's first header row.
document$.subscribe(() => {
  for (const wrapper of document.querySelectorAll(".md-typeset__scrollwrap")) {
    wrapper.tabIndex = 0;
    wrapper.setAttribute("role", "region");
    const header = wrapper.querySelector("th");
    wrapper.setAttribute("aria-label", `Table${header ? `: ${header.textContent.trim()}` : ""}`);
  }
});
