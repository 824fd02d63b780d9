/* fake_copilot.c - a stand-in for the GitHub Copilot CLI in tests (no shell involved).
 *
 * Writes what it was given to $FAKE_COPILOT_RECORD/run-<pid>-<ns>.json (written to a
 * temporary name, then renamed; the time keeps names apart in a pid namespace, where every
 * agent may be pid 2): {"argv": [...], "env": {NAME: value, ...}, "cwd", "pid", "pgid",
 * "stdin": "eof" | "data" | "error", "prompt": the value after -p (or null), "fds": open
 * descriptors above 2, "child_pid": the helper process of the hang modes (or null), "at":
 * ms since the epoch}.
 * Then acts by $FAKE_COPILOT_MODE:
 *   ok (default)  print a short diagnosis on stdout and a line on stderr, exit 0
 *   fail          print a line, exit 3
 *   hang          start a helper child (same process group), both sleep forever
 *   stubborn      like hang, but ignore SIGTERM (needs SIGKILL)
 *   flood         write $FAKE_COPILOT_BYTES bytes (default 1 MiB) of numbered lines
 *                 between a "BEGIN" and an "END" line, exit 0
 *   sleep         sleep $FAKE_COPILOT_MS milliseconds (default 500), exit 0
 *   spy           try what a hostile agent would: read /proc/<ppid>/environ and the
 *                 environment and command line of every process it can see, the paths of
 *                 $FAKE_COPILOT_READ (colon-separated; a directory is listed), its own
 *                 capabilities; record all of it under "spy" and print it on stdout, exit 0
 *
 * As a cluster probe (argv[1] = "probe"; the agent's environment, so no mode): records
 * {"argv", "at"} to $FAKE_COPILOT_RECORD/probe-<ns>.json, then by argv[2]:
 *   print TEXT    print TEXT and a newline, exit 0
 *   fail          print an error on stderr, exit 1
 *   sleep         sleep forever
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/types.h>
#include <jansson.h>

extern char **environ;

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* At most max bytes of a file as a JSON string (NUL bytes as '\n', invalid UTF-8 as '?'),
 * or "error: <why>". A directory gives its entries. */
static json_t *
read_text(const char *path, size_t max)
{
	char buf[8192], msg[300];
	size_t got = 0;
	ssize_t n;
	DIR *d;
	int fd;

	if ((d = opendir(path)) != NULL) {
		struct dirent *e;
		json_t *a = json_array();

		while ((e = readdir(d)) != NULL)
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
				json_array_append_new(a, json_string(e->d_name));
		closedir(d);
		return a;
	}
	if ((fd = open(path, O_RDONLY)) < 0) {
		snprintf(msg, sizeof(msg), "error: %s", strerror(errno));
		return json_string(msg);
	}
	if (max > sizeof(buf) - 1)
		max = sizeof(buf) - 1;
	while (got < max && (n = read(fd, buf + got, max - got)) > 0)
		got += (size_t)n;
	if (got == 0 && n < 0) {
		snprintf(msg, sizeof(msg), "error: %s", strerror(errno));
		close(fd);
		return json_string(msg);
	}
	close(fd);
	for (size_t i = 0; i < got; i++)
		if (buf[i] == '\0')
			buf[i] = '\n';
		else if ((unsigned char)buf[i] >= 0x80)
			buf[i] = '?';
	buf[got] = '\0';
	return json_string(buf);
}

/* What a hostile agent could read of the daemon. */
static json_t *
spy(void)
{
	const char *list = getenv("FAKE_COPILOT_READ");
	json_t *procs = json_array(), *reads = json_object(), *status;
	char path[4200];
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)getppid());
	if ((d = opendir("/proc")) != NULL) {
		while ((e = readdir(d)) != NULL) {
			char env[300], cmd[300];

			if (e->d_name[0] < '0' || e->d_name[0] > '9')
				continue;
			snprintf(env, sizeof(env), "/proc/%s/environ", e->d_name);
			snprintf(cmd, sizeof(cmd), "/proc/%s/cmdline", e->d_name);
			json_array_append_new(procs, json_pack("{s:i, s:o, s:o}", "pid",
			    atoi(e->d_name), "cmdline", read_text(cmd, 512), "environ",
			    read_text(env, 4096)));
		}
		closedir(d);
	}
	while (list != NULL && *list != '\0') {
		const char *end = strchr(list, ':');
		size_t len = end ? (size_t)(end - list) : strlen(list);
		char p[4096];

		snprintf(p, sizeof(p), "%.*s", (int)len, list);
		json_object_set_new(reads, p, read_text(p, 4096));
		list = end ? end + 1 : list + len;
	}
	status = read_text("/proc/self/status", 4096);
	return json_pack("{s:i, s:o, s:o, s:o, s:o}", "ppid", (int)getppid(), "ppid_environ",
	    read_text(path, 4096), "procs", procs, "reads", reads, "status", status);
}

/* argv[1] == "probe": stand in for a cluster probe (kubectl ... -o jsonpath=...). */
static int
probe(int argc, char **argv)
{
	const char *dir = getenv("FAKE_COPILOT_RECORD");
	struct timespec now;
	json_t *r, *av = json_array();
	char path[4096], tmp[4200];

	clock_gettime(CLOCK_REALTIME, &now);
	for (int i = 0; i < argc; i++)
		json_array_append_new(av, json_string(argv[i]));
	r = json_pack("{s:o, s:I}", "argv", av, "at", (json_int_t)now.tv_sec * 1000 +
	    now.tv_nsec / 1000000);
	if (dir != NULL) {
		snprintf(path, sizeof(path), "%s/probe-%lld%09ld.json", dir, (long long)now.tv_sec,
		    now.tv_nsec);
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		if (json_dump_file(r, tmp, JSON_COMPACT) != 0 || rename(tmp, path) != 0)
			fprintf(stderr, "fake probe: cannot write the record\n");
	}
	json_decref(r);
	if (argc > 3 && strcmp(argv[2], "print") == 0) {
		printf("%s\n", argv[3]);
		return 0;
	}
	if (argc > 2 && strcmp(argv[2], "sleep") == 0) {
		for (;;)
			sleep_ms(1000);
	}
	fprintf(stderr, "fake probe: error: the server has asked for the client to provide "
	    "credentials\n");
	return 1;
}

static json_t *
open_fds(void)
{
	json_t *a = json_array();
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (d == NULL)
		return a;
	while ((e = readdir(d)) != NULL) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd <= 2 || fd == dirfd(d))
			continue;
		json_array_append_new(a, json_integer(fd));
	}
	closedir(d);
	return a;
}

static int
record(int argc, char **argv, pid_t child, json_t *spied)
{
	const char *dir = getenv("FAKE_COPILOT_RECORD");
	json_t *r, *av = json_array(), *env = json_object();
	char path[4096], tmp[4200], cwd[4096], c, *text;
	const char *prompt = NULL, *in;
	struct timespec now;
	ssize_t n;
	int rc = -1;

	if (dir == NULL)
		return 0;
	for (int i = 0; i < argc; i++) {
		json_array_append_new(av, json_string(argv[i]));
		if ((strcmp(argv[i], "-p") == 0 || strcmp(argv[i], "--prompt") == 0) &&
		    i + 1 < argc)
			prompt = argv[i + 1];
	}
	for (char **e = environ; *e != NULL; e++) {
		const char *eq = strchr(*e, '=');

		if (eq != NULL) {
			char name[512];

			snprintf(name, sizeof(name), "%.*s", (int)(eq - *e), *e);
			json_object_set_new(env, name, json_string(eq + 1));
		}
	}
	n = read(0, &c, 1);
	in = n == 0 ? "eof" : n > 0 ? "data" : "error";
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		snprintf(cwd, sizeof(cwd), "?");
	clock_gettime(CLOCK_REALTIME, &now);
	r = json_pack("{s:o, s:o, s:s, s:i, s:i, s:s, s:s?, s:o, s:o, s:I}", "argv", av, "env",
	    env, "cwd", cwd, "pid", (int)getpid(), "pgid", (int)getpgrp(), "stdin", in, "prompt",
	    prompt, "fds", open_fds(), "child_pid", child ? json_integer(child) : json_null(),
	    "at", (json_int_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	if (r != NULL && spied != NULL) {
		json_object_set(r, "spy", spied);
		text = json_dumps(spied, JSON_INDENT(1));
		if (text != NULL)
			printf("%s\n", text);     /* into the transcript, as an agent would */
		free(text);
	}
	snprintf(path, sizeof(path), "%s/run-%d-%lld%09ld.json", dir, (int)getpid(),
	    (long long)now.tv_sec, now.tv_nsec);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (r != NULL && json_dump_file(r, tmp, JSON_COMPACT) == 0 && rename(tmp, path) == 0)
		rc = 0;
	json_decref(r);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *mode = getenv("FAKE_COPILOT_MODE");
	json_t *spied = NULL;
	pid_t child = 0;
	int rc;

	if (argc > 1 && strcmp(argv[1], "probe") == 0)
		return probe(argc, argv);
	if (mode == NULL)
		mode = "ok";
	if (strcmp(mode, "spy") == 0)
		spied = spy();
	if (strcmp(mode, "stubborn") == 0)
		signal(SIGTERM, SIG_IGN);
	if (strcmp(mode, "hang") == 0 || strcmp(mode, "stubborn") == 0) {
		child = fork();
		if (child == 0) {
			for (;;)
				sleep_ms(1000);
		}
	}
	rc = record(argc, argv, child, spied);
	json_decref(spied);
	if (rc != 0) {
		fprintf(stderr, "fake copilot: cannot write the record\n");
		return 2;
	}
	if (strcmp(mode, "hang") == 0 || strcmp(mode, "stubborn") == 0) {
		printf("fake copilot: thinking forever\n");
		fflush(stdout);
		for (;;)
			sleep_ms(1000);
	}
	if (strcmp(mode, "fail") == 0) {
		fprintf(stderr, "fake copilot: error: authentication failed\n");
		return 3;
	}
	if (strcmp(mode, "flood") == 0) {
		const char *b = getenv("FAKE_COPILOT_BYTES");
		long want = b ? atol(b) : 1048576L, done = 0;

		done += printf("BEGIN\n");
		for (long i = 0; done < want - 4; i++)
			done += printf("line %08ld of output from the fake agent\n", i);
		printf("END\n");
		return 0;
	}
	if (strcmp(mode, "sleep") == 0) {
		const char *ms = getenv("FAKE_COPILOT_MS");

		sleep_ms(ms ? atol(ms) : 500);
	}
	printf("fake copilot: diagnosis posted\n");
	fflush(stdout);
	fprintf(stderr, "fake copilot: done\n");
	return 0;
}
