/* web/maint.c — maintenance windows on the web (docs/web.md "Maintenance"): the window covering an endpoint now
 * (common/config/maintenance.h over the web's configuration) and its HTML mark on the pages. */
#include <stddef.h>

#include "common/config/maintenance.h"
#include "web/html.h"
#include "web/model.h"
#include "web/page_common.h"

const struct cw_maintenance *web_maintenance(const struct web_endpoint *e, int64_t now_us, int64_t *end_us)
{
    const struct cw_maintenance *m = e->config ? maintenance_find(e->config, e->cfg, now_us) : NULL;
    if (end_us) *end_us = m ? maintenance_end(m, now_us) : 0;
    return m;
}

void page_put_maintenance(struct cw_buf *b, const struct web_endpoint *e, int64_t now_us)
{
    int64_t end_us;
    const struct cw_maintenance *m = web_maintenance(e, now_us, &end_us);
    if (!m) return;
    cw_buf_printf(b, " <span class=\"maintenance\">maintenance ");
    web_html_text(b, m->name ? m->name : "");
    cw_buf_printf(b, " until ");
    page_put_time_ms(b, end_us / 1000, false);
    cw_buf_printf(b, "</span>");
}
