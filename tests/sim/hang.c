/* hang.c - a port where connect() never completes (--hang-port-file).
 *
 * A listening socket with a backlog of 0 whose accept queue is filled by the
 * simulator's own connections and never accepted: the kernel then drops every
 * further SYN, so a client's connect() hangs until its own timeout, exactly
 * like an unreachable host. Nothing is ever sent or received on it.
 *
 *   $ sora2-sim --hang-port-file /tmp/hang &
 *   $ curl --connect-timeout 2 http://127.0.0.1:$(cat /tmp/hang)/   -> timeout after 2 s
 */
#include "sim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HANG_FILLERS 2

static int hang_fds[1 + HANG_FILLERS] = { -1, -1, -1 };

int hang_start(char *err, size_t errlen)
{
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof sa;
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 0) < 0 ||
	    getsockname(l, (struct sockaddr *)&sa, &len) < 0) {
		snprintf(err, errlen, "hang port: %s", strerror(errno));
		if (l >= 0)
			close(l);
		return -1;
	}
	hang_fds[0] = l;
	/* Fill the accept queue (backlog 0 holds one); the second filler's own SYN
	 * is already dropped, which is the point. */
	for (int i = 1; i <= HANG_FILLERS; i++) {
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (s < 0)
			break;
		if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
			close(s);
			break;
		}
		hang_fds[i] = s;
	}
	return ntohs(sa.sin_port);
}

void hang_stop(void)
{
	for (int i = 0; i <= HANG_FILLERS; i++) {
		if (hang_fds[i] >= 0)
			close(hang_fds[i]);
		hang_fds[i] = -1;
	}
}
