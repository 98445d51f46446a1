"""Elasticsearch/OpenSearch _bulk end to end with the real clients' helpers.bulk
(@elastic/elasticsearch with ApiKey auth, @opensearch-project/opensearch with Basic auth;
tests/clients/es_send.js): the GET /es/ handshake with the X-Elastic-Product header the
Elasticsearch client checks, documents into stored objects checked field by field (the
index names the service unless the document has one), a record over --max-record as a
400 item that helpers.bulk drops, and unauthenticated requests refused."""

import json

import cltest
import shippers

EXPECTED = {
    "es one": {"timestamp": "2026-12-06T12:40:30.123Z", "level": "warn", "service": "web-app",
               "host": {"name": "h1"}, "tags": ["a", "b"]},
    "es two": {"timestamp": "2026-12-06T12:40:31.000Z", "level": "info", "service": "own-svc",
               "n": 2},
}


NDJSON = {"Content-Type": "application/x-ndjson"}


def post_bulk(d, path, body):
    """POSTs an NDJSON _bulk body without auth; returns (status, headers, body)."""
    return d.request("POST", path, body=body, headers=NDJSON)


class EsClientCase(shippers.ClientTestCase):
    """Runs tests/clients/es_send.js against a daemon and checks what it stored."""
    MODULE = "@elastic/elasticsearch"

    def send(self, d, flavour, key=shippers.KEY, big=None, prefix="/es"):
        args = [flavour, self.url(d, prefix), key] + ([big] if big else [])
        return shippers.run_node("es_send.js", *args)

    def assert_sent_stored(self, d, out):
        """The client saw the handshake, and the two EXPECTED documents are stored."""
        self.assertEqual(out["info"]["tagline"], "You Know, for Search", out)
        records = shippers.stored_records(d)
        self.assertEqual(len(records), 2, records)
        for rec in records:
            self.assertEqual(rec, dict(EXPECTED[rec["message"]], message=rec["message"]))


class BulkClients(EsClientCase):
    def check(self, flavour):
        d = self.start_daemon()
        out = self.send(d, flavour, big=8000)
        stats = out["stats"]
        self.assertEqual((stats["total"], stats["successful"], stats["failed"]), (3, 2, 1), out)
        self.assertEqual(len(out["dropped"]), 1, out)
        self.assertEqual(out["dropped"][0]["status"], 400)
        self.assertIn("record too large", out["dropped"][0]["error"]["reason"])
        self.assert_sent_stored(d, out)

    def test_elasticsearch_client(self):
        self.check("elastic")

    def test_opensearch_client(self):
        self.check("opensearch")

    def test_no_key_refused(self):
        d = self.start_daemon()
        out = self.send(d, "opensearch", key="wrong")
        self.assertIn("error", out["info"])
        st, hd, body = post_bulk(d, "/es/_bulk", b'{"index":{}}\n{"message":"x"}\n')
        self.assertEqual(st, 401, body)
        self.assertEqual(json.loads(body)["error"]["type"], "security_exception")
        self.assertEqual(cltest.count_rows(d.db_path), 0)


class BulkPrefix(EsClientCase):
    """--es-prefix moves the API: the real client works under the new prefix (handshake
    and _bulk), /es is then 404, and a prefix on cloudlog's own routes is refused."""

    def test_client_under_configured_prefix(self):
        d = self.start_daemon(["--es-prefix", "/search/elastic"])
        out = self.send(d, "elastic", prefix="/search/elastic")
        self.assertEqual((out["stats"]["total"], out["stats"]["successful"]), (2, 2), out)
        self.assert_sent_stored(d, out)
        auth = {"Authorization": "Bearer " + shippers.KEY}
        for path in ("/es", "/es/_bulk"):
            st, _, _ = d.request("POST", path, body=b'{"index":{}}\n{"message":"x"}\n',
                                 headers=auth)
            self.assertEqual(st, 404, path)

    def test_env_prefix_and_refused_prefix(self):
        d = self.daemon(args=["--flush-age", "1s"], env={"CLOUDLOG_ES_PREFIX": "/opensearch"})
        st, hd, out = d.request("GET", "/opensearch/")
        self.assertEqual((st, hd.get("x-elastic-product")), (200, "Elasticsearch"), out)
        st, _, out = post_bulk(d, "/opensearch/app-x/_bulk",
                               b'{"create":{}}\n{"message":"under env prefix"}\n')
        self.assertEqual(st, 200, out)
        self.assertEqual(json.loads(out)["items"][0]["create"]["status"], 201, out)
        rec = shippers.stored_records(d)
        self.assertEqual([(r["service"], r["message"]) for r in rec],
                         [("app-x", "under env prefix")])
        rc, text = cltest.expect_refusal(["serve", "--listen", "127.0.0.1:0", "--data",
                                          cltest.mkdtemp(), "--es-prefix", "/v1/es"])
        self.assertNotEqual(rc, 0)
        self.assertIn("invalid --es-prefix: '/v1/es' is under /v1", text)


class BulkAnswers(cltest.DaemonTestCase):
    """Answers the clients do not provoke: actions cloudlog refuses, malformed bodies."""

    def test_items_and_errors(self):
        d = self.daemon()
        body = (b'{"delete":{"_index":"a","_id":"1"}}\n'
                b'{"index":{"_index":"a","_id":"7"}}\n{"message":"kept"}\n'
                b'{"update":{"_id":"2"}}\n{"doc":{"x":1}}\n'
                b'{"create":{}}\n[1]\n')
        st, hd, out = post_bulk(d, "/es/logs-x/_bulk", body)
        self.assertEqual((st, hd.get("x-elastic-product")), (200, "Elasticsearch"), out)
        js = json.loads(out)
        self.assertTrue(js["errors"])
        items = js["items"]
        self.assertEqual([list(i)[0] for i in items], ["delete", "index", "update", "create"])
        self.assertEqual([list(i.values())[0]["status"] for i in items], [400, 201, 400, 400])
        self.assertEqual(items[1]["index"]["_id"], "7")
        self.assertEqual(items[3]["create"]["_index"], "logs-x")
        self.assertIn("append-only", items[0]["delete"]["error"]["reason"])
        self.assertIn("not a JSON object", items[3]["create"]["error"]["reason"])
        st, hd, out = post_bulk(d, "/es/_bulk", b'{"index":{}}\n')
        self.assertEqual(st, 400, out)
        self.assertEqual(json.loads(out)["error"]["type"], "illegal_argument_exception")
        st, _, out = d.request("POST", "/es/_bulk", body=b'{"frobnicate":{}}\n{}\n')
        self.assertEqual(st, 400, out)
        self.assertIn("frobnicate", json.loads(out)["error"]["reason"])
        st, _, _ = d.request("POST", "/es/a/b/_bulk", body=b"")
        self.assertEqual(st, 404)

    def test_documents_as_sent(self):
        """Documents are stored as the normalizer completes them: the first member of a
        name wins, a missing message is "", the index names the service unless the
        document has service or app, nested whitespace is compacted."""
        d = self.daemon(args=["--flush-age", "1s"])
        body = (b'{"create":{"_index":"idx-a"}}\n'
                b'{"message":"first","n":1,"n":2,"message":"second"}\n'
                b'{"create":{}}\n{"ts":"2026-12-06T12:40:30Z","k":"no message"}\n'
                b'{"index":{"_index":"idx-b"}}\n{"msg":"own app","app":"web", "o": { "a" : [1, 2] }}\n')
        st, _, out = post_bulk(d, "/es/logs-x/_bulk", body)
        self.assertEqual(st, 200, out)
        self.assertFalse(json.loads(out)["errors"], out)
        recs = shippers.stored_records(d)
        by_k = {r.get("k", r["message"]): r for r in recs}
        self.assertEqual(len(recs), 3, recs)
        first = by_k["first"]
        self.assertEqual((first["service"], first["n"]), ("idx-a", 1), first)
        self.assertEqual(by_k["no message"]["message"], "")
        self.assertEqual(by_k["no message"]["service"], "logs-x")
        own = by_k["own app"]
        self.assertEqual((own["service"], own["o"]), ("web", {"a": [1, 2]}), own)
        self.assertNotIn("app", own)


if __name__ == "__main__":
    cltest.main()
