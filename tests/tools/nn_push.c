/* nn_push.c - test helper: send files (or stdin) as nanomsg PUSH messages.
 *
 *   nn_push ADDRESS [FILE...]     one message per FILE; "-" or no FILE = stdin
 *
 * Waits for the connection before sending (a blocking PUSH holds a message until a peer is
 * there, up to 5 s) and waits 300 ms before closing, since nanomsg 1.1 ignores NN_LINGER
 * and a close can drop what is still queued. Exit 0 when all were sent, 1 otherwise. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>

#define MAX_MESSAGE (64u << 20)

static int
read_all(FILE *f, char **out, size_t *len)
{
	char *buf = NULL;
	size_t n = 0, cap = 0;

	for (;;) {
		size_t got;

		if (n == cap) {
			char *nb;

			cap = cap ? cap * 2 : 65536;
			if (cap > MAX_MESSAGE || (nb = realloc(buf, cap)) == NULL) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		return -EIO;
	}
	*out = buf;
	*len = n;
	return 0;
}

static int
send_file(int sock, const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *data = NULL;
	size_t len = 0;
	int rc;

	if (f == NULL) {
		fprintf(stderr, "nn_push: %s: %s\n", path, strerror(errno));
		return -1;
	}
	rc = read_all(f, &data, &len);
	if (f != stdin)
		fclose(f);
	if (rc != 0) {
		fprintf(stderr, "nn_push: %s: %s\n", path, strerror(-rc));
		return -1;
	}
	rc = nn_send(sock, len ? data : "", len, 0);
	free(data);
	if (rc < 0) {
		fprintf(stderr, "nn_push: %s: send: %s\n", path, nn_strerror(nn_errno()));
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct timespec settle = { 0, 300 * 1000 * 1000 };
	int sock, timeout = 5000, failed = 0;

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		fprintf(argc < 2 ? stderr : stdout, "usage: nn_push ADDRESS [FILE...]\n");
		return argc < 2 ? 2 : 0;
	}
	sock = nn_socket(AF_SP, NN_PUSH);
	if (sock < 0 || nn_setsockopt(sock, NN_SOL_SOCKET, NN_SNDTIMEO, &timeout,
	    sizeof(timeout)) < 0 || nn_connect(sock, argv[1]) < 0) {
		fprintf(stderr, "nn_push: %s: %s\n", argv[1], nn_strerror(nn_errno()));
		return 1;
	}
	if (argc == 2)
		failed |= send_file(sock, "-") != 0;
	for (int i = 2; i < argc; i++)
		failed |= send_file(sock, argv[i]) != 0;
	nanosleep(&settle, NULL);
	nn_close(sock);
	return failed ? 1 : 0;
}
