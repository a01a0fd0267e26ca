/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * modbus_frame.c — Modbus request parsing and response building for the
 * simulator (sources in modbus_frame.h).  Pure.
 */
#include <errno.h>
#include <string.h>

#include "modbus_frame.h"

uint16_t mbframe_crc16(const uint8_t *p, size_t n)
{
        uint16_t crc = 0xFFFF;

        for (size_t i = 0; i < n; i++) {
                crc ^= p[i];
                for (int b = 0; b < 8; b++)
                        crc = crc & 1 ? (uint16_t)((crc >> 1) ^ 0xA001) : (uint16_t)(crc >> 1);
        }
        return crc;
}

static uint16_t be16(const uint8_t *p)
{
        return (uint16_t)(p[0] << 8 | p[1]);
}

/* Fills the read fields from a PDU (function code first). */
static void parse_pdu(const uint8_t *pdu, size_t len, MbRequest *rq)
{
        rq->function = pdu[0];
        rq->is_read = (pdu[0] == 0x03 || pdu[0] == 0x04) && len == 5;
        if (rq->is_read) {
                rq->address = be16(pdu + 1);
                rq->count = be16(pdu + 3);
        }
}

/* Request length on an RTU line by function code; 0 when it depends on
 * nothing we can see yet, -1 when unknown (the frame ends at silence). */
static ssize_t rtu_request_len(const uint8_t *buf, size_t len)
{
        switch (buf[1]) {
        case 0x01:
        case 0x02:
        case 0x03:
        case 0x04:
        case 0x05:
        case 0x06:
                return 8; /* address, function, 2 + 2 bytes, CRC */
        case 0x0F:
        case 0x10:
                return len < 7 ? 0 : 9 + (ssize_t)buf[6];
        case 0x17:
                return len < 11 ? 0 : 13 + (ssize_t)buf[10];
        default:
                return -1;
        }
}

ssize_t mbframe_rtu_parse(const uint8_t *buf, size_t len, bool complete, MbRequest *ret)
{
        ssize_t want;
        uint16_t crc;

        if (len < 2)
                return complete && len > 0 ? -EBADMSG : 0;
        want = rtu_request_len(buf, len);
        if (want < 0)
                want = complete ? (ssize_t)len : 0;
        if (want == 0 || (size_t)want > len)
                return complete ? -EBADMSG : 0;
        if (want < 4 || want > MBFRAME_RTU_MAX)
                return -EBADMSG;
        crc = mbframe_crc16(buf, (size_t)want - 2);
        if (buf[want - 2] != (crc & 0xFF) || buf[want - 1] != crc >> 8)
                return -EBADMSG;
        memset(ret, 0, sizeof(*ret));
        ret->unit = buf[0];
        parse_pdu(buf + 1, (size_t)want - 3, ret);
        return want;
}

ssize_t mbframe_tcp_parse(const uint8_t *buf, size_t len, MbRequest *ret)
{
        uint16_t length;

        if (len < 7)
                return 0;
        length = be16(buf + 4);
        if (be16(buf + 2) != 0 || length < 2 || length > MBFRAME_TCP_MAX - 6)
                return -EBADMSG;
        if (len < 6u + length)
                return 0;
        memset(ret, 0, sizeof(*ret));
        ret->transaction = be16(buf);
        ret->unit = buf[6];
        parse_pdu(buf + 7, length - 1u, ret);
        return 6 + (ssize_t)length;
}

size_t mbframe_pdu(const MbRequest *rq, const uint16_t *regs, uint8_t exception, uint8_t *out,
                   size_t cap)
{
        size_t n;

        if (exception || !rq->is_read) {
                if (cap < 2)
                        return 0;
                out[0] = rq->function | 0x80;
                out[1] = exception ? exception : MB_EXCEPTION_ILLEGAL_FUNCTION;
                return 2;
        }
        n = 2 + 2 * (size_t)rq->count;
        if (rq->count > MBFRAME_READ_MAX || cap < n)
                return 0;
        out[0] = rq->function;
        out[1] = (uint8_t)(2 * rq->count);
        for (size_t i = 0; i < rq->count; i++) {
                out[2 + 2 * i] = (uint8_t)(regs[i] >> 8);
                out[3 + 2 * i] = (uint8_t)regs[i];
        }
        return n;
}

size_t mbframe_rtu_wrap(const MbRequest *rq, const uint8_t *pdu, size_t pdu_len, bool bad_crc,
                        uint8_t *out, size_t cap)
{
        uint16_t crc;

        if (cap < pdu_len + 3 || pdu_len + 3 > MBFRAME_RTU_MAX)
                return 0;
        out[0] = rq->unit;
        memcpy(out + 1, pdu, pdu_len);
        crc = mbframe_crc16(out, pdu_len + 1);
        if (bad_crc)
                crc ^= 0x0001;
        out[pdu_len + 1] = (uint8_t)crc;
        out[pdu_len + 2] = (uint8_t)(crc >> 8);
        return pdu_len + 3;
}

size_t mbframe_tcp_wrap(const MbRequest *rq, const uint8_t *pdu, size_t pdu_len, uint8_t *out,
                        size_t cap)
{
        size_t length = pdu_len + 1;

        if (cap < pdu_len + 7 || pdu_len + 7 > MBFRAME_TCP_MAX)
                return 0;
        out[0] = (uint8_t)(rq->transaction >> 8);
        out[1] = (uint8_t)rq->transaction;
        out[2] = out[3] = 0;
        out[4] = (uint8_t)(length >> 8);
        out[5] = (uint8_t)length;
        out[6] = rq->unit;
        memcpy(out + 7, pdu, pdu_len);
        return pdu_len + 7;
}
