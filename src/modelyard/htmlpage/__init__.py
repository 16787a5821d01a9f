"""The HTML pages reports are written as: one self-contained file each (inline CSS and SVG, no
scripts, nothing fetched). ``shell`` is the page and its tables, ``charts`` the SVG charts,
``ticks`` the numbers and dates on their axes. It knows no domain: every domain's report
builds on it."""
