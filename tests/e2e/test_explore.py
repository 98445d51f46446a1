"""The query page at GET /explore (docs/explore.md): served like the dashboard (self-
contained, strict CSP with the hashes of its inline script and style, ETag, no key
needed), and driven in headless Chromium (tests/e2e/chromium.py) against a daemon's real
Loki API: a query typed into the LogQL box draws the histogram (a count_over_time
query_range) and lists the records, a record expands, the CLI-style filters produce
the same LogQL, the URL carries the state (a reload runs the same query), the live tail
(WebSocket /loki/api/v1/tail, allowed by connect-src 'self') shows records posted after
it opened, and with API keys the page asks for one and uses it for both. No console
errors or failed requests. Screenshots are kept in $CL_TMPDIR (explore.png is the one in
docs/)."""

import json
import os
import time
import urllib.parse

import cltest
from test_dashboard import BrowserCase, assert_self_contained

ARTIFACTS = cltest.TMP_ROOT
KEY = "explore-key-1"


def records(n, service, start_ms, msg="order", every_error=5, spacing_ms=1000):
    out = []
    for i in range(n):
        lvl = "error" if i % every_error == 0 else "info"
        out.append({"timestamp": cltest.ms_text(start_ms + i * spacing_ms), "service": service,
                    "level": lvl, "message": "%s %s %d" % (service, msg, i), "order_id": i})
    return out


def stored_count(d):
    return sum(len(lines) for _, lines in cltest.stored_lines(d.data_dir))


class PageServed(cltest.DaemonTestCase):
    def test_explore_page_and_csp(self):
        d = self.daemon(args=["--api-key-file", cltest.write_key_file(KEY)])
        st, hd, body = d.request("GET", "/explore")
        self.assertEqual(st, 200)
        self.assertTrue(hd["content-type"].startswith("text/html"))
        page = body.decode("utf-8")
        self.assertNotIn('src="explore.js"', page)
        assert_self_contained(self, page, hd["content-security-policy"])
        st, _, _ = d.request("GET", "/explore", headers={"If-None-Match": hd["etag"]})
        self.assertEqual(st, 304)
        st, _, _ = d.request("POST", "/explore")
        self.assertEqual(st, 405)
        # The dashboard links here, and this page links back.
        st, _, dash = d.request("GET", "/")
        self.assertIn('href="/explore"', dash.decode())
        self.assertIn('href="/"', page)


class InBrowser(BrowserCase):
    def open(self, d, query=""):
        p = self.browser.new_page(1440, 1000)
        p.navigate("http://127.0.0.1:%d/explore%s" % (d.port, query))
        p.wait_for("document.body.dataset.ready === '1'", timeout=20)
        return p

    def load(self, d, headers=None):
        now = int(time.time() * 1000)
        for svc, n, spacing in (("checkout", 40, 75000), ("payments", 15, 200000)):
            st, _, js = d.post_logs(records(n, svc, now - 3300000, spacing_ms=spacing),
                                    headers=headers or {})
            self.assertEqual(st, 202, js)
        cltest.wait_for(lambda: stored_count(d) >= 55, 60, "55 stored records", daemon=d)

    def submit(self, p, logql):
        p.eval("document.getElementById('logql').value = %s;"
               "document.getElementById('qform').requestSubmit(); true" % json.dumps(logql))

    def runs(self, p):
        return int(p.eval("+(document.body.dataset.runs || 0)"))

    def test_query_histogram_rows_url_and_live_tail(self):
        d = self.daemon(args=["--flush-age", "1s"])
        self.load(d)
        p = self.open(d)
        # Type a query: the histogram and the rows come from query_range.
        self.submit(p, '{service="checkout"}')
        p.wait_for("+(document.body.dataset.runs || 0) >= 1", timeout=30)
        self.assertEqual(p.eval("document.getElementById('qerr').hidden"), True,
                         p.eval("document.getElementById('qerr').textContent"))
        self.assertEqual(p.eval("+document.getElementById('hist').dataset.total"), 40)
        self.assertGreater(p.eval("+document.getElementById('hist').dataset.bars"), 1)
        legend = p.eval("document.getElementById('hist-legend').innerText")
        self.assertIn("error", legend)
        self.assertIn("info", legend)
        self.assertEqual(p.eval("+document.getElementById('results').dataset.count"), 40)
        rows = p.eval("[...document.querySelectorAll('#rows tr.rec')].map("
                      "r => [...r.cells].map(c => c.innerText))")
        self.assertEqual(len(rows), 40)
        self.assertEqual(rows[0][3], "checkout order 39", "newest first")
        self.assertEqual(rows[0][2], "checkout")
        self.assertEqual(rows[-1][1].strip().lower(), "error")
        # A record expands to its labels and JSON.
        p.eval("document.querySelector('#rows tr.rec').click(); true")
        detail = p.eval("document.querySelector('#rows tr.detail').innerText")
        self.assertIn('"order_id": 39', detail)
        self.assertIn("service=checkout", detail)
        # The state is in the URL: a fresh page at that URL runs the same query.
        url = p.eval("location.href")
        self.assertIn("q=%7Bservice%3D%22checkout%22%7D", url)
        self.assertIn("range=1h", url)
        # A filter the engine cannot push down, and a metric query.
        self.submit(p, '{service=~"checkout|payments"} | json | order_id >= 10 | level="error"')
        p.wait_for("+(document.body.dataset.runs || 0) >= 2", timeout=30)
        self.assertEqual(p.eval("+document.getElementById('results').dataset.count"), 7)
        self.submit(p, 'sum by (service) (count_over_time({service=~".+"} [1m]))')
        p.wait_for("+(document.body.dataset.runs || 0) >= 3", timeout=30)
        self.assertEqual(p.eval("+document.getElementById('hist').dataset.total"), 55)
        legend = p.eval("document.getElementById('hist-legend').innerText")
        self.assertIn("checkout 40", legend.replace("\n", " "))
        self.assertIn("payments 15", legend.replace("\n", " "))
        # A syntax error is shown, not a stale result.
        self.submit(p, '{service="checkout"')
        p.wait_for("!document.getElementById('qerr').hidden", timeout=20)
        self.assertIn("400", p.eval("document.getElementById('qerr').textContent"))

        self.assertEqual(urllib.parse.urlparse(url).path, "/explore")
        q2 = self.open(d, "?" + urllib.parse.urlparse(url).query)
        q2.wait_for("+(document.body.dataset.runs || 0) >= 1", timeout=30)
        self.assertEqual(q2.eval("document.getElementById('logql').value"), '{service="checkout"}')
        self.assertEqual(q2.eval("+document.getElementById('results').dataset.count"), 40)

        # The CLI's filters as a form: the same LogQL, and the URL keeps the form.
        q2.eval("document.getElementById('mode-filters').click();"
                "document.getElementById('f-service').value = 'pay*';"
                "document.getElementById('f-level').value = 'error+';"
                "document.getElementById('f-service').dispatchEvent(new Event('input'));"
                "document.getElementById('qform').requestSubmit(); true")
        q2.wait_for("+(document.body.dataset.runs || 0) >= 2", timeout=30)
        self.assertEqual(q2.eval("document.getElementById('f-preview').textContent"),
                         '{service=~"pay.*", level=~"error|fatal"}')
        self.assertEqual(q2.eval("+document.getElementById('results').dataset.count"), 3)
        self.assertIn("mode=filters", q2.eval("location.search"))

        # Live tail: records posted after it opened show up on top.
        self.submit(p, '{service="checkout"}')
        p.wait_for("+(document.body.dataset.runs || 0) >= 4", timeout=30)
        p.eval("document.getElementById('live').click(); true")
        p.wait_for("document.body.dataset.live === 'open'", timeout=20)
        self.assertIn("live=1", p.eval("location.search"))
        now = int(time.time() * 1000)
        st, _, _ = d.post_logs(records(3, "checkout", now, msg="live") + records(2, "payments", now, msg="live"))
        self.assertEqual(st, 202)
        p.wait_for("+(document.getElementById('results').dataset.live || 0) >= 3", timeout=40)
        top = p.eval("[...document.querySelectorAll('#rows tr.rec')].slice(0, 3).map("
                     "r => r.cells[3].innerText)")
        self.assertEqual(top, ["checkout live 2", "checkout live 1", "checkout live 0"])
        self.assertEqual(p.eval("document.getElementById('status').dataset.state"), "live")
        p.call("Page.bringToFront")  # q2 opened later: a background tab draws no frames
        p.eval("document.querySelectorAll('#rows tr.rec')[3].click(); true")
        p.screenshot(os.path.join(ARTIFACTS, "explore.png"))
        p.set_dark(True)
        p.screenshot(os.path.join(ARTIFACTS, "explore-dark.png"))
        p.eval("document.getElementById('live').click(); true")
        p.wait_for("document.body.dataset.live === 'closed'", timeout=20)
        print("screenshots: %s/explore{,-dark}.png" % ARTIFACTS, flush=True)
        for page in (p, q2):
            self.assertEqual(page.console_errors(allow=[lambda m: "400" in m[2]]), [], "console errors")
        bad = [r for r in p.failed_requests() + q2.failed_requests() if r[1] != 400]
        self.assertEqual(bad, [], "failed requests")

    def test_api_key(self):
        d = self.daemon(args=["--flush-age", "1s", "--api-key-file", cltest.write_key_file(KEY)])
        auth = {"Authorization": "Bearer " + KEY}
        self.load(d, headers=auth)
        p = self.open(d, "?q=%7Bservice%3D%22payments%22%7D&range=1h")
        p.wait_for("!document.getElementById('keybox').hidden", timeout=20)
        p.eval("document.getElementById('keyinput').value = %s;"
               "document.getElementById('keyform').requestSubmit(); true" % json.dumps(KEY))
        p.wait_for("+(document.body.dataset.runs || 0) >= 1", timeout=30)
        self.assertEqual(p.eval("+document.getElementById('results').dataset.count"), 15)
        self.assertEqual(p.eval("localStorage.getItem('cloudlog.apiKey')"), KEY)
        # The live tail sends the key as a WebSocket protocol (a browser cannot set headers).
        p.eval("document.getElementById('live').click(); true")
        p.wait_for("document.body.dataset.live === 'open'", timeout=20)
        st, _, _ = d.post_logs(records(2, "payments", int(time.time() * 1000), msg="keyed"),
                               headers=auth)
        self.assertEqual(st, 202)
        p.wait_for("+(document.getElementById('results').dataset.live || 0) >= 2", timeout=40)
        errors = p.console_errors(allow=[lambda m: m[1] == "network" and "401" in m[2]])
        self.assertEqual(errors, [], "console errors")


if __name__ == "__main__":
    cltest.main()
