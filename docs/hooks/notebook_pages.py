"""MkDocs hook: make the headings of notebook pages behave like those of Markdown pages.

nbconvert marks each heading's permalink `class="anchor-link"`; Material styles (and leaves out of
the search index) the ones marked `class="headerlink"`. Without this, every lesson heading ends in
a visible pilcrow and search results read "Setup¶".
"""


def on_page_content(html, page, config, files):
    if page.file.src_uri.endswith(".ipynb"):
        return html.replace('class="anchor-link"', 'class="headerlink" title="Permanent link"')
    return html
