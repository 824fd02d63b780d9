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
 */
#include <dirent.h>
#include <errno.h>
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
record(int argc, char **argv, pid_t child)
{
	const char *dir = getenv("FAKE_COPILOT_RECORD");
	json_t *r, *av = json_array(), *env = json_object();
	char path[4096], tmp[4200], cwd[4096], c;
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
	pid_t child = 0;

	if (mode == NULL)
		mode = "ok";
	if (strcmp(mode, "stubborn") == 0)
		signal(SIGTERM, SIG_IGN);
	if (strcmp(mode, "hang") == 0 || strcmp(mode, "stubborn") == 0) {
		child = fork();
		if (child == 0) {
			for (;;)
				sleep_ms(1000);
		}
	}
	if (record(argc, argv, child) != 0) {
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
