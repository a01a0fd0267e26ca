/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test-modbus-frame.c — vitals-sim's Modbus framing (sim/modbus_frame.c):
 * the CRC against the specification's worked examples, RTU and TCP
 * requests whole, split and damaged, and the answers built byte for byte.
 */
#include <errno.h>
#include <string.h>

#include "modbus_frame.h"
#include "testlib.h"

TEST(crc_matches_the_specification)
{
        /* MODBUS Application Protocol V1.1b3 §6.3 example request (slave 17,
         * read 3 holding registers from 107) as framed on a serial line, and
         * the often-quoted "read 10 registers from 0 of slave 1". */
        static const uint8_t a[] = {0x11, 0x03, 0x00, 0x6B, 0x00, 0x03};
        static const uint8_t b[] = {0x01, 0x03, 0x00, 0x00, 0x00, 0x0A};

        CHECK_INT(mbframe_crc16(a, sizeof(a)), 0x8776); /* sent 76 87 */
        CHECK_INT(mbframe_crc16(b, sizeof(b)), 0xCDC5); /* sent C5 CD */
}

TEST(rtu_requests_whole_split_and_damaged)
{
        static const uint8_t req[] = {0x11, 0x03, 0x00, 0x6B, 0x00, 0x03, 0x76, 0x87};
        uint8_t buf[32];
        MbRequest rq;

        CHECK_INT(mbframe_rtu_parse(req, sizeof(req), false, &rq), 8);
        CHECK_INT(rq.unit, 17);
        CHECK_INT(rq.function, 3);
        CHECK(rq.is_read);
        CHECK_INT(rq.address, 107);
        CHECK_INT(rq.count, 3);

        for (size_t cut = 1; cut < sizeof(req); cut++)
                CHECK_INT(mbframe_rtu_parse(req, cut, false, &rq), 0);
        /* Cut short and then silence: not a request. */
        CHECK_INT(mbframe_rtu_parse(req, 5, true, &rq), -EBADMSG);

        memcpy(buf, req, sizeof(req));
        buf[7] ^= 0x40;
        CHECK_INT(mbframe_rtu_parse(buf, sizeof(req), false, &rq), -EBADMSG);
        memcpy(buf, req, sizeof(req));
        buf[3] ^= 0x01; /* a flipped data bit */
        CHECK_INT(mbframe_rtu_parse(buf, sizeof(req), false, &rq), -EBADMSG);

        /* Two requests back to back: the first is taken, the rest stays. */
        memcpy(buf, req, sizeof(req));
        memcpy(buf + 8, req, sizeof(req));
        CHECK_INT(mbframe_rtu_parse(buf, 16, false, &rq), 8);

        /* A function we do not know ends at silence; its CRC still counts. */
        uint8_t odd[] = {0x01, 0x2B, 0x0E, 0x01, 0x00, 0, 0};
        uint16_t crc = mbframe_crc16(odd, 5);
        odd[5] = (uint8_t)crc;
        odd[6] = (uint8_t)(crc >> 8);
        CHECK_INT(mbframe_rtu_parse(odd, sizeof(odd), false, &rq), 0);
        CHECK_INT(mbframe_rtu_parse(odd, sizeof(odd), true, &rq), 7);
        CHECK_INT(rq.function, 0x2B);
        CHECK(!rq.is_read);
}

TEST(tcp_requests)
{
        /* MBAP: transaction 0x0102, protocol 0, length 6, unit 0xFF; PDU 04 0064 0002 */
        static const uint8_t req[] = {0x01, 0x02, 0x00, 0x00, 0x00, 0x06, 0xFF,
                                      0x04, 0x00, 0x64, 0x00, 0x02};
        uint8_t bad[sizeof(req)];
        MbRequest rq;

        CHECK_INT(mbframe_tcp_parse(req, sizeof(req), &rq), 12);
        CHECK_INT(rq.transaction, 0x0102);
        CHECK_INT(rq.unit, 0xFF);
        CHECK_INT(rq.function, 4);
        CHECK(rq.is_read);
        CHECK_INT(rq.address, 100);
        CHECK_INT(rq.count, 2);
        for (size_t cut = 0; cut < sizeof(req); cut++)
                CHECK_INT(mbframe_tcp_parse(req, cut, &rq), 0);
        memcpy(bad, req, sizeof(req));
        bad[3] = 1; /* protocol id 1 */
        CHECK_INT(mbframe_tcp_parse(bad, sizeof(bad), &rq), -EBADMSG);
        memcpy(bad, req, sizeof(req));
        bad[4] = 0x10; /* length 4102 */
        CHECK_INT(mbframe_tcp_parse(bad, sizeof(bad), &rq), -EBADMSG);
}

TEST(answers_byte_for_byte)
{
        MbRequest rq = {.unit = 0x11, .function = 0x03, .is_read = true, .address = 107, .count = 3};
        /* §6.3 example response: 03 06 02 2B 00 00 00 64 */
        static const uint16_t regs[] = {0x022B, 0x0000, 0x0064};
        static const uint8_t pdu_want[] = {0x03, 0x06, 0x02, 0x2B, 0x00, 0x00, 0x00, 0x64};
        uint8_t pdu[64], frame[64];
        size_t n, f;
        uint16_t crc;

        n = mbframe_pdu(&rq, regs, 0, pdu, sizeof(pdu));
        CHECK_INT(n, sizeof(pdu_want));
        CHECK(memcmp(pdu, pdu_want, sizeof(pdu_want)) == 0);

        f = mbframe_rtu_wrap(&rq, pdu, n, false, frame, sizeof(frame));
        CHECK_INT(f, n + 3);
        CHECK_INT(frame[0], 0x11);
        crc = mbframe_crc16(frame, f - 2);
        CHECK_INT(frame[f - 2], crc & 0xFF);
        CHECK_INT(frame[f - 1], crc >> 8);
        f = mbframe_rtu_wrap(&rq, pdu, n, true, frame, sizeof(frame));
        CHECK(frame[f - 2] != (crc & 0xFF) || frame[f - 1] != (crc >> 8));

        /* §7: exception response is function | 0x80 and the code. */
        n = mbframe_pdu(&rq, NULL, 0x02, pdu, sizeof(pdu));
        CHECK_INT(n, 2);
        CHECK_INT(pdu[0], 0x83);
        CHECK_INT(pdu[1], 0x02);
        MbRequest other = {.unit = 1, .function = 0x2B};
        n = mbframe_pdu(&other, NULL, 0, pdu, sizeof(pdu));
        CHECK_INT(n, 2);
        CHECK_INT(pdu[0], 0xAB);
        CHECK_INT(pdu[1], MB_EXCEPTION_ILLEGAL_FUNCTION);

        rq.transaction = 0xBEEF;
        n = mbframe_pdu(&rq, regs, 0, pdu, sizeof(pdu));
        f = mbframe_tcp_wrap(&rq, pdu, n, frame, sizeof(frame));
        CHECK_INT(f, n + 7);
        static const uint8_t mbap[] = {0xBE, 0xEF, 0x00, 0x00, 0x00, 0x09, 0x11};
        CHECK(memcmp(frame, mbap, sizeof(mbap)) == 0);
        CHECK(memcmp(frame + 7, pdu_want, sizeof(pdu_want)) == 0);
}

int main(void)
{
        RUN(crc_matches_the_specification);
        RUN(rtu_requests_whole_split_and_damaged);
        RUN(tcp_requests);
        RUN(answers_byte_for_byte);
        return testlib_finish();
}
