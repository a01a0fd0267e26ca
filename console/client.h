/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * client.h — the client end of vitalsd's control socket: an AF_UNIX
 * SOCK_SEQPACKET connection carrying one JSON object per message.
 */
#pragma once

#include <stdint.h>

#include <json-c/json.h>

/* Largest message the client accepts. */
#define CLIENT_MESSAGE_MAX (1024 * 1024)
/* How long a request waits for its reply. */
#define CLIENT_REPLY_TIMEOUT_MSEC 10000

/* Connects to the socket at path. 0 and *ret_fd, or -errno (-ENAMETOOLONG
 * when path does not fit sun_path). */
int client_connect(const char *path, int *ret_fd);

/* Sends request (which must carry an integer "id") and waits up to
 * timeout_msec for the message whose "id" matches, skipping any other
 * (pushed events).  0 and *ret_reply (a JSON object, caller puts it), or
 * -ETIMEDOUT, -ECONNRESET (daemon closed the connection), -EMSGSIZE (reply
 * larger than CLIENT_MESSAGE_MAX), -EBADMSG (not a JSON object), -errno. */
int client_request(int fd, json_object *request, int timeout_msec, json_object **ret_reply);

/* Sends one message without waiting for anything (the caller matches the
 * reply by its "id" among the messages it receives).  0, -EMSGSIZE,
 * -EAGAIN (socket buffer full: the daemon is not reading), -errno. */
int client_send(int fd, json_object *message);

/* Receives one message and parses it as a JSON object; same errors. */
int client_receive(int fd, int timeout_msec, json_object **ret_message);

/* The string member key of o, or NULL when o is NULL or key is absent or not
 * a string: messages from the daemon are read defensively. */
const char *client_json_string(json_object *o, const char *key);
