/* test_paths.c - the state and runtime directories and relative path resolution. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "paths.h"

static void
test_dir_precedence(void **state)
{
	char buf[256];

	(void)state;
	unsetenv("STATE_DIRECTORY");
	unsetenv("RUNTIME_DIRECTORY");
	/* nothing set: the installed directories */
	assert_int_equal(paths_state_dir(NULL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, paths_statedir);
	assert_non_null(strstr(paths_statedir, "/lib/incidentd"));
	assert_int_equal(paths_runtime_dir(NULL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, paths_runtimedir);
	/* systemd's variables; the first entry of a list */
	setenv("STATE_DIRECTORY", "/var/lib/incidentd", 1);
	setenv("RUNTIME_DIRECTORY", "/run/incidentd:/run/other", 1);
	assert_int_equal(paths_state_dir(NULL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/var/lib/incidentd");
	assert_int_equal(paths_runtime_dir(NULL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/run/incidentd");
	/* the option wins */
	assert_int_equal(paths_state_dir("./var", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "./var");
	assert_int_equal(paths_runtime_dir("/tmp/r", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/tmp/r");
	/* empty values count as unset */
	setenv("STATE_DIRECTORY", "", 1);
	assert_int_equal(paths_state_dir("", buf, sizeof(buf)), 0);
	assert_string_equal(buf, paths_statedir);
	/* too long for the buffer */
	assert_int_equal(paths_state_dir("/a/very/long/directory", buf, 8), -ENAMETOOLONG);
	unsetenv("STATE_DIRECTORY");
	unsetenv("RUNTIME_DIRECTORY");
}

static void
test_join(void **state)
{
	static const struct { const char *dir, *path, *want; } cases[] = {
		{ "/var/lib/incidentd", "incidentd.db", "/var/lib/incidentd/incidentd.db" },
		{ "/var/lib/incidentd/", "./x/incidentd.db", "/var/lib/incidentd/x/incidentd.db" },
		{ "./var", "incidentd.db", "./var/incidentd.db" },
		{ "/var/lib/incidentd", "/srv/ledger.db", "/srv/ledger.db" },
		{ "/", "a.db", "/a.db" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = paths_join(cases[i].dir, cases[i].path);

		assert_non_null(got);
		assert_string_equal(got, cases[i].want);
		free(got);
	}
}

static void
test_resolve_ipc(void **state)
{
	static const struct { const char *addr, *want; } cases[] = {
		{ "ipc://tail.ipc", "ipc:///run/incidentd/tail.ipc" },
		{ "ipc://./sub/in.ipc", "ipc:///run/incidentd/sub/in.ipc" },
		{ "ipc:///tmp/x.ipc", "ipc:///tmp/x.ipc" },
		{ "tcp://127.0.0.1:9741", "tcp://127.0.0.1:9741" },
		{ "ws://[::1]:80/x", "ws://[::1]:80/x" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = paths_resolve_ipc("/run/incidentd", cases[i].addr);

		assert_non_null(got);
		assert_string_equal(got, cases[i].want);
		free(got);
	}
}

static void
test_resolve_config(void **state)
{
	static const char yaml[] =
	    "server: { publish: \"ipc://tail.ipc\" }\n"
	    "ledger: { path: incidentd.db }\n"
	    "sources:\n  argocd: { auth: none }\n  nanomsg: {}\n"
	    "sinks:\n  log: { plugin: log }\n"
	    "routes:\n  - { name: d, sinks: [log] }\n";
	struct config *cfg = NULL;
	char err[512];

	(void)state;
	assert_int_equal(config_load_string(yaml, "t.yaml", &cfg, err, sizeof(err)), 0);
	assert_int_equal(paths_resolve_config(cfg, "/var/lib/incidentd", "/run/incidentd", 0),
	    0);
	assert_string_equal(cfg->db_path, "/var/lib/incidentd/incidentd.db");
	assert_string_equal(cfg->publish, "ipc:///run/incidentd/tail.ipc");
	assert_string_equal(config_find_source(cfg, "nanomsg")->pull,
	    "ipc:///run/incidentd/events.ipc");
	assert_null(config_find_source(cfg, "argocd")->pull);
	/* resolving again changes nothing (a reload resolves a fresh config, never twice) */
	assert_int_equal(paths_resolve_config(cfg, "/elsewhere", "/elsewhere", 0), 0);
	assert_string_equal(cfg->db_path, "/var/lib/incidentd/incidentd.db");
	config_destroy(cfg);

	/* an explicit --db stays as given, relative to the working directory */
	cfg = NULL;
	assert_int_equal(config_load_string(yaml, "t.yaml", &cfg, err, sizeof(err)), 0);
	free(cfg->db_path);
	cfg->db_path = strdup("./var/incidentd.db");
	assert_int_equal(paths_resolve_config(cfg, "/var/lib/incidentd", "/run/incidentd", 1),
	    0);
	assert_string_equal(cfg->db_path, "./var/incidentd.db");
	assert_string_equal(cfg->publish, "ipc:///run/incidentd/tail.ipc");
	config_destroy(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dir_precedence),
		cmocka_unit_test(test_join),
		cmocka_unit_test(test_resolve_ipc),
		cmocka_unit_test(test_resolve_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
