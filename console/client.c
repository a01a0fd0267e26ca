/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * client.c — talking to vitalsd over its control socket.
 *
 * Owns the socket: connect, send one request, wait for the reply with the
 * same id.  Each SOCK_SEQPACKET message is one JSON object; its size is read
 * with MSG_PEEK|MSG_TRUNC before it is received, and anything above
 * CLIENT_MESSAGE_MAX is consumed and refused.  Blocks only in poll(), never
 * longer than the caller's timeout, so a wedged daemon cannot hang the
 * console.  Errors are returned as negative errno; the verb reports them.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

int client_connect(const char *path, int *ret_fd)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        size_t len = strlen(path);
        int fd;

        if (len == 0)
                return -EINVAL;
        if (len >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, len + 1);

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                int r = -errno;

                close(fd);
                return r;
        }
        *ret_fd = fd;
        return 0;
}

static int64_t mono_msec(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int wait_readable(int fd, int64_t deadline_msec)
{
        for (;;) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                int64_t left = deadline_msec - mono_msec();
                int n;

                if (left <= 0)
                        return -ETIMEDOUT;
                n = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -ETIMEDOUT;
                /* POLLHUP with data pending still reads the data first. */
                return 0;
        }
}

static int receive_until(int fd, int64_t deadline_msec, json_object **ret_message)
{
        struct json_tokener *tok;
        json_object *o;
        ssize_t size, n;
        char *buf;
        int r;

        r = wait_readable(fd, deadline_msec);
        if (r < 0)
                return r;

        size = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
        if (size < 0)
                return errno == EAGAIN ? -ETIMEDOUT : -errno;
        if (size == 0) {
                /* EOF, or an empty message (never valid JSON): either way the
                 * daemon said nothing we can use.  Consume an empty message. */
                (void)recv(fd, NULL, 0, MSG_DONTWAIT);
                return -ECONNRESET;
        }
        if (size > CLIENT_MESSAGE_MAX) {
                (void)recv(fd, NULL, 0, MSG_TRUNC | MSG_DONTWAIT);
                return -EMSGSIZE;
        }

        buf = malloc((size_t)size + 1);
        if (!buf)
                return -ENOMEM;
        n = recv(fd, buf, (size_t)size, MSG_DONTWAIT);
        if (n < 0) {
                r = -errno;
                free(buf);
                return r;
        }
        buf[n] = '\0';

        tok = json_tokener_new();
        if (!tok) {
                free(buf);
                return -ENOMEM;
        }
        o = json_tokener_parse_ex(tok, buf, (int)n);
        /* The whole message must be one object: no trailing bytes, nothing partial. */
        if (!o || json_tokener_get_error(tok) != json_tokener_success ||
            (size_t)json_tokener_get_parse_end(tok) != (size_t)n ||
            !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                o = NULL;
        }
        json_tokener_free(tok);
        free(buf);
        if (!o)
                return -EBADMSG;
        *ret_message = o;
        return 0;
}

int client_receive(int fd, int timeout_msec, json_object **ret_message)
{
        return receive_until(fd, mono_msec() + timeout_msec, ret_message);
}

/* Ours: the same id, or an error without an id (the daemon could not read
 * the id of a request it could not parse; only one request is in flight). */
static bool is_reply_to(json_object *m, int64_t id)
{
        json_object *v, *type;

        if (json_object_object_get_ex(m, "id", &v) && v)
                return json_object_is_type(v, json_type_int) && json_object_get_int64(v) == id;
        return json_object_object_get_ex(m, "type", &type) &&
               json_object_is_type(type, json_type_string) &&
               strcmp(json_object_get_string(type), "error") == 0;
}

int client_request(int fd, json_object *request, int timeout_msec, json_object **ret_reply)
{
        int64_t deadline = mono_msec() + timeout_msec, id;
        json_object *idobj;
        const char *text;
        size_t len;

        if (!json_object_object_get_ex(request, "id", &idobj) ||
            !json_object_is_type(idobj, json_type_int))
                return -EINVAL;
        id = json_object_get_int64(idobj);

        text = json_object_to_json_string_ext(request, JSON_C_TO_STRING_PLAIN |
                                                           JSON_C_TO_STRING_NOSLASHESCAPE);
        len = strlen(text);
        if (len > CLIENT_MESSAGE_MAX)
                return -EMSGSIZE;
        for (;;) {
                ssize_t n = send(fd, text, len, MSG_NOSIGNAL);

                if (n >= 0)
                        break;
                if (errno == EPIPE)
                        break; /* refused at once: the reason may be waiting, read it */
                if (errno != EINTR)
                        return -errno;
        }

        for (;;) {
                json_object *m;
                int r;

                r = receive_until(fd, deadline, &m);
                if (r < 0)
                        return r;
                if (is_reply_to(m, id)) {
                        *ret_reply = m;
                        return 0;
                }
                /* A pushed event or a reply to someone else's id: not ours. */
                json_object_put(m);
        }
}

int client_send(int fd, json_object *message)
{
        const char *text = json_object_to_json_string_ext(message, JSON_C_TO_STRING_PLAIN |
                                                                       JSON_C_TO_STRING_NOSLASHESCAPE);
        size_t len = strlen(text);

        if (len > CLIENT_MESSAGE_MAX)
                return -EMSGSIZE;
        for (;;) {
                if (send(fd, text, len, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
                        return 0;
                if (errno != EINTR)
                        return -errno;
        }
}

const char *client_json_string(json_object *o, const char *key)
{
        json_object *v;

        if (!o || !json_object_object_get_ex(o, key, &v) ||
            !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}
