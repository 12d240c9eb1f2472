/* web/textwidth.c — the width of a text in Verdana at 11 px, for the badges' layout (web/badge.h): the advance
 * widths of Verdana's printable ASCII glyphs in thousandths of an em, as the font's metrics give them (Verdana
 * Regular, horizontal metrics scaled to a 1000-unit em; generated once from that list, one number per
 * character 0x20..0x7E). A character outside that range counts as wide as "m", the widest lower-case letter:
 * a badge may then be a little wide, never clipped (and the SVG's textLength fits the text to the box). */
#include "web/badge.h"

#include "common/base/util.h"

#include <string.h>

#define WIDE_MILLI 972 /* "m" */

static const unsigned short verdana_milli[95] = {
    351, 393, 458, 818, 635, 1076, 726, 268, 454, 454, 635, 818, 363, 454,  363, 454, 635, 635, 635,
    635, 635, 635, 635, 635, 635,  635, 454, 454, 818, 818, 818, 545, 1000, 683, 685, 698, 770, 632,
    574, 775, 751, 420, 454, 692,  556, 842, 748, 787, 603, 787, 695, 683,  616, 731, 683, 988, 685,
    615, 685, 454, 454, 454, 818,  635, 635, 600, 623, 520, 623, 595, 351,  623, 632, 274, 344, 591,
    274, 972, 632, 606, 623, 623,  426, 520, 394, 632, 591, 818, 591, 591,  525, 634, 454, 634, 818,
};

double web_text_width_verdana11(const char *s)
{
    long milli = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p >= 0x20 && *p < 0x7f) {
            milli += verdana_milli[*p - 0x20];
            p++;
            continue;
        }
        size_t n = cw_utf8_seq_len(p);
        milli += WIDE_MILLI;
        p += n ? n : 1;
    }
    return (double)milli * 11.0 / 1000.0;
}
