"""End-to-end tests of the `cloudlog` front (src/cli/lean_main.c): `cloudlog query` over a
local data directory runs in the front, which loads none of the network libraries (libcurl,
libmicrohttpd, GnuTLS, libsystemd); every other command, and a query with a configuration
file, runs in the full binary (libexec/cloudlog/cloudlog) with the same arguments and gives
the same output. Which binary ran is read from the dynamic loader's own report
(LD_DEBUG=libs lists every library it initialises)."""

import os
import shutil
import subprocess

import cltest

NETWORK_LIBS = ("libcurl.so", "libmicrohttpd.so", "libgnutls.so", "libsystemd.so")


def loaded_network_libs(ld_debug_stderr):
    return sorted({lib for lib in NETWORK_LIBS
                   if "calling init: " in ld_debug_stderr and lib in ld_debug_stderr})


class Front(cltest.ClassDaemonTestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = cltest.Daemon(args=["--flush-age", "300ms"])
        cls.d.start()
        for i in range(20):
            st, _, js = cls.d.post_logs({"message": "front test %d" % i, "service": "web",
                                         "level": "error" if i % 3 == 0 else "info"})
            assert st == 202, js
        cls.query = ["query", "--data", cls.d.data_dir, "--since", "48h", "--service", "web"]
        # All 20 stored: they may land in more than one object (one flush by age may take
        # only the messages received so far).
        cltest.wait_for(lambda: cltest.run_cli(cls.query + ["--count"])[1].strip() == "20", 60,
                        "all 20 records stored", cls.d)

    def run_traced(self, args, env=None):
        env = dict(env or {}, LD_DEBUG="libs")
        rc, out, err = cltest.run_cli(args, env=env)
        return rc, out, loaded_network_libs(err)

    def test_local_query_loads_no_network_library(self):
        rc, out, libs = self.run_traced(self.query)
        self.assertEqual(rc, 0)
        self.assertEqual(len(out.splitlines()), 20, out)
        self.assertEqual(libs, [])

    def test_other_commands_run_in_the_full_binary(self):
        rc, out, libs = self.run_traced(["status", "--data", self.d.data_dir])
        self.assertEqual(rc, 0, out)
        self.assertIn("libcurl.so", libs)
        rc, out, _ = cltest.run_cli(["serve", "--help"])
        self.assertEqual(rc, 0)
        self.assertIn("--listen", out)

    def test_query_with_a_config_file_runs_in_the_full_binary_with_the_same_result(self):
        _, direct, _ = self.run_traced(self.query + ["--level", "error"])
        conf = cltest.write_file(os.path.join(self.d.data_dir, "query.yaml"), "level: error\n")
        rc, out, libs = self.run_traced(self.query + ["--config", conf])
        self.assertEqual(rc, 0)
        self.assertIn("libcurl.so", libs)
        self.assertEqual(out, direct)
        self.assertEqual(len(out.splitlines()), 7, out)
        rc, out, libs = self.run_traced(self.query, env={"CLOUDLOG_CONFIG": conf})
        self.assertEqual(rc, 0)
        self.assertIn("libcurl.so", libs)
        self.assertEqual(out, direct)

    def test_front_alone_queries_and_names_the_missing_full_binary(self):
        alone = os.path.join(cltest.mkdtemp(), "cloudlog")
        shutil.copy(cltest.BIN, alone)
        orig_bin = cltest.BIN
        cltest.BIN = alone
        try:
            rc, out, _ = cltest.run_cli(self.query)
            self.assertEqual((rc, len(out.splitlines())), (0, 20))
            rc, _, err = cltest.run_cli(["status", "--data", self.d.data_dir])
        finally:
            cltest.BIN = orig_bin
        self.assertEqual(rc, 127)
        self.assertIn("cannot run the full cloudlog binary", err)


    def test_front_started_through_the_dynamic_loader_finds_the_full_binary(self):
        # `ld.so cloudlog ...`: /proc/self/exe is the loader, argv[0] the program
        loader = "/lib64/ld-linux-x86-64.so.2"
        if not os.access(loader, os.X_OK):
            self.skipTest("no x86-64 dynamic loader at " + loader)
        p = subprocess.run([loader, cltest.BIN, "status", "--data", self.d.data_dir],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        rc, out, _ = cltest.run_cli(["status", "--data", self.d.data_dir])
        self.assertEqual(rc, 0)
        self.assertEqual(p.stdout.splitlines()[0], out.splitlines()[0])


if __name__ == "__main__":
    cltest.main()
