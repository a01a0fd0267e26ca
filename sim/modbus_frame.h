/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modbus_frame.h — the server side of Modbus framing, for vitals-sim:
 * requests in, responses out, RTU (serial line) and TCP (MBAP header).
 *
 * Pure code: no I/O, no globals.  Hand-written rather than libmodbus's
 * server API because a simulator must do what a library rightly refuses:
 * answer several RTU slave addresses on one line, and send an answer with
 * a wrong CRC on purpose.  vitalsd itself uses libmodbus.
 *
 * Sources: MODBUS over Serial Line Specification and Implementation Guide
 * V1.02 §2.5.1 (RTU frame: address, PDU, CRC low byte first) and §6.2.2
 * (CRC-16, polynomial 0xA001 reflected, initial 0xFFFF); MODBUS Messaging
 * on TCP/IP Implementation Guide V1.0b §3.1.3 (MBAP header: transaction id,
 * protocol id 0, length of unit id + PDU, unit id); MODBUS Application
 * Protocol Specification V1.1b3 §6.3/§6.4 (functions 03/04) and §7
 * (exception responses: function | 0x80, code).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MBFRAME_RTU_MAX 256  /* §2.5.1: an RTU frame is at most 256 bytes */
#define MBFRAME_TCP_MAX 260  /* MBAP (7) + PDU (253) */
#define MBFRAME_READ_MAX 125 /* registers per read, §6.3 */

enum {
        MB_EXCEPTION_ILLEGAL_FUNCTION = 0x01,
        MB_EXCEPTION_ILLEGAL_ADDRESS = 0x02,
        MB_EXCEPTION_ILLEGAL_VALUE = 0x03,
        MB_EXCEPTION_GATEWAY_TARGET = 0x0B, /* "gateway target device failed to respond" */
};

typedef struct MbRequest {
        uint16_t transaction; /* TCP only */
        uint8_t unit;         /* RTU slave address / TCP unit identifier */
        uint8_t function;
        bool is_read;         /* function 03 or 04 with a well-formed address and count */
        uint16_t address, count;
} MbRequest;

uint16_t mbframe_crc16(const uint8_t *p, size_t n);

/* One request at the start of buf.  Returns the bytes it takes (> 0), 0
 * when more bytes are needed, or -EBADMSG when buf cannot start a request
 * (a wrong CRC: the caller drops what it has).  `complete` says the line
 * has been silent (an RTU frame ends with 3.5 character times of silence),
 * which ends a frame of a function whose length we do not know. */
ssize_t mbframe_rtu_parse(const uint8_t *buf, size_t len, bool complete, MbRequest *ret);
/* TCP: 0 until a whole MBAP frame is there; -EBADMSG for a protocol id
 * other than 0 or an impossible length (the caller closes the connection). */
ssize_t mbframe_tcp_parse(const uint8_t *buf, size_t len, MbRequest *ret);

/* The PDU answering rq: with exception != 0 an exception response,
 * otherwise (a read) the byte count and rq->count registers from regs.
 * Returns its length. */
size_t mbframe_pdu(const MbRequest *rq, const uint16_t *regs, uint8_t exception, uint8_t *out,
                   size_t cap);
/* Wraps a PDU: RTU adds the address and CRC (with bad_crc, a CRC that is
 * wrong by one bit), TCP the MBAP header.  Return the frame length, 0 when
 * cap is too small. */
size_t mbframe_rtu_wrap(const MbRequest *rq, const uint8_t *pdu, size_t pdu_len, bool bad_crc,
                        uint8_t *out, size_t cap);
size_t mbframe_tcp_wrap(const MbRequest *rq, const uint8_t *pdu, size_t pdu_len, uint8_t *out,
                        size_t cap);
