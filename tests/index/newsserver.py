"""A small real HTTP server on 127.0.0.1 that behaves like news sites, good and bad.

Used by the fetch, service, command-line and Telegram admin tests. Routes:
``/news/storm.html`` a real-looking article page, ``/news/storm.txt`` the same as a layout-A
text file, ``/moved`` a redirect to the article, ``/missing`` 404, ``/loop`` a redirect loop,
``/slow`` answers after a long pause, ``/trickle`` sends its body a byte at a time, ``/huge``
an endless body, ``/picture.png`` an image, ``/empty.html`` a page with no article text.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STORM_TITLE = "Storm Elena forces thousands from homes on northern coast"
STORM_FACT = "more than 20,000 households lost power"

NEWS_PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{STORM_TITLE} | The Harbour Herald</title>
  <meta property="og:site_name" content="The Harbour Herald">
  <meta property="og:title" content="{STORM_TITLE}">
  <meta property="og:type" content="article">
  <meta name="author" content="Maria Jensen">
  <meta property="article:published_time" content="2024-03-05T07:45:00Z">
  <link rel="stylesheet" href="/static/site.css">
</head>
<body>
  <header><a href="/">The Harbour Herald</a>
    <nav><ul><li><a href="/world">World</a></li><li><a href="/sport">Sport</a></li>
    <li><a href="/weather">Weather</a></li></ul></nav></header>
  <main>
    <article>
      <h1>{STORM_TITLE}</h1>
      <p class="byline">By Maria Jensen, 5 March 2024</p>
      <p>Storm Elena hit the northern coast early on Tuesday, forcing thousands of residents
      to leave their homes as gusts reached 150 km/h in the most exposed villages.</p>
      <p>The regional grid operator said {STORM_FACT} overnight and that repairs could take
      until Friday in remote areas, where fallen trees blocked access roads.</p>
      <p>Schools in the three coastal districts will stay closed on Wednesday, the education
      office announced, while emergency shelters opened in sports halls in Nordvik and
      Saltholm.</p>
      <p>The national weather service expects the storm to weaken over the weekend as it
      moves inland toward the mountains, bringing heavy snow to higher ground.</p>
    </article>
    <aside><h2>Most read</h2><ul><li><a href="/a">Ferry timetable changes</a></li>
    <li><a href="/b">Local elections: the results</a></li></ul></aside>
  </main>
  <footer><p>&copy; 2024 The Harbour Herald. All rights reserved.</p></footer>
</body>
</html>
"""

NEWS_TEXT = (
    f"{STORM_TITLE}\nThe Harbour Herald\n"
    f"Storm Elena hit the northern coast early on Tuesday.\n"
    f"The regional grid operator said {STORM_FACT} overnight.\n"
)

EMPTY_PAGE = (
    "<html><head><title>Home</title></head><body><nav><a href='/'>Home</a></nav>"
    "<div id='app'></div><script>render()</script></body></html>"
)


class _Handler(BaseHTTPRequestHandler):
    server_version = "HarbourHerald/1.0"

    def log_message(self, format: str, *args: object) -> None:  # silence test output
        pass

    def _send(
        self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        try:
            if path == "/news/storm.html":
                self._send(200, NEWS_PAGE.encode(), "text/html; charset=utf-8")
            elif path == "/news/storm.txt":
                self._send(200, NEWS_TEXT.encode(), "text/plain; charset=utf-8")
            elif path == "/news/latin1.txt":
                body = NEWS_TEXT.replace("Storm", "Størm").encode("latin-1")
                self._send(200, body, "text/plain; charset=ISO-8859-1")
            elif path == "/moved":
                self._send(301, b"", "text/html", {"Location": "/news/storm.html"})
            elif path == "/loop":
                self._send(302, b"", "text/html", {"Location": "/loop"})
            elif path == "/empty.html":
                self._send(200, EMPTY_PAGE.encode(), "text/html")
            elif path == "/picture.png":
                self._send(200, b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "image/png")
            elif path == "/slow":
                time.sleep(self.server.slow_s)  # type: ignore[attr-defined]
                self._send(200, NEWS_PAGE.encode(), "text/html")
            elif path == "/trickle":
                body = NEWS_PAGE.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                for i in range(0, len(body), 50):
                    self.wfile.write(body[i : i + 50])
                    self.wfile.flush()
                    time.sleep(0.2)
            elif path == "/huge":
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()  # no length: the client must stop reading itself
                block = b"<p>" + b"lorem ipsum " * 5000 + b"</p>\n"
                for _ in range(2000):
                    self.wfile.write(block)
            else:
                self._send(404, b"<h1>Not found</h1>", "text/html")
        except (BrokenPipeError, ConnectionResetError):
            pass


@contextmanager
def news_server(slow_s: float = 5.0) -> Iterator[str]:
    """Run the server on a free port of 127.0.0.1; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.block_on_close = False
    server.slow_s = slow_s  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
