/* incidents.c - the incident-day generator of incidents.h. */
#include "incidents.h"

#include "record.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Per service: records a minute at the daily mean, and the time of its daily peak. */
static const struct {
    const char *name;
    double per_min;
    double peak_h;
} services[CL_INC_SERVICES] = {
    {"web", 120, 15},   {"payments", 40, 14}, {"orders", 60, 16},
    {"search", 30, 13}, {"auth", 50, 9},      {"batch", 20, 3},
};

static const char *const templates[] = {
    "GET /api/v1/items/%u answered 200 in %u ms",
    "POST /api/v1/orders/%u answered 201 in %u ms",
    "cache hit for key item:%u after %u us",
    "connection pool size %u, %u idle",
    "user %u signed in from 10.0.%u.7",
    "job %u finished in %u ms",
    "published event %u to topic orders (%u bytes)",
    "retrying request %u (attempt %u)",
};
static const char *const errors[] = {
    "upstream 10.1.%u.4:8080 timed out after %u ms",
    "payment %u declined: code %u",
};
static const char *const new_error =
    "NullPointerException at OrderService.checkout(OrderService.java:%u) for order %u";

void cl_incident_gen_init(struct cl_incident_gen *ig, uint64_t seed, int64_t start_ms, int days)
{
    memset(ig, 0, sizeof *ig);
    cl_gen_init(&ig->g, seed);
    ig->start_ms = start_ms - start_ms % CL_INC_DAY_MS;
    ig->days = days < 2 ? 2 : days;
    int64_t d = ig->start_ms + (int64_t)(ig->days - 1) * CL_INC_DAY_MS, h = 3600000, m = 60000;
    ig->inc[0] = (struct cl_incident){CL_INC_ERROR_BURST, "error burst", "payments", d + 10 * h,
                                      d + 10 * h + 10 * m};
    ig->inc[1] = (struct cl_incident){CL_INC_NEW_PATTERN, "new exception pattern", "orders",
                                      d + 13 * h, d + 13 * h + 30 * m};
    ig->inc[2] = (struct cl_incident){CL_INC_SILENCE, "silent service", "search", d + 15 * h,
                                      d + 15 * h + 40 * m};
    ig->inc[3] = (struct cl_incident){CL_INC_SPIKE, "5x traffic spike", "web", d + 18 * h,
                                      d + 18 * h + 10 * m};
    ig->inc[4] =
        (struct cl_incident){CL_INC_DRIFT, "slow error drift", "auth", d + 19 * h, d + 23 * h};
}

static double uniform(struct cl_gen *g)
{
    return (double)(cl_gen_next(g) >> 11) / 9007199254740992.0;
}

/* Poisson(lambda) by inversion for small lambda, normal approximation above 30. */
static unsigned poisson(struct cl_gen *g, double lambda)
{
    if (lambda > 30) {
        double u1 = uniform(g) + 1e-12, u2 = uniform(g);
        double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
        double v = lambda + sqrt(lambda) * z;
        return v < 0 ? 0 : (unsigned)(v + 0.5);
    }
    double l = exp(-lambda), p = 1;
    unsigned k = 0;
    do {
        k++;
        p *= uniform(g);
    } while (p > l);
    return k - 1;
}

static const struct cl_incident *active(const struct cl_incident_gen *ig, const char *svc,
                                        enum cl_incident_kind k, int64_t t)
{
    const struct cl_incident *in = &ig->inc[k];
    return strcmp(in->service, svc) == 0 && t >= in->start_ms && t < in->end_ms ? in : NULL;
}

static void emit(struct cl_buf *b, int64_t ts, const char *level, const char *svc, const char *msg)
{
    char t[25];
    cl_format_timestamp(ts, t);
    cl_buf_printf(b,
                  "{\"timestamp\":\"%s\",\"level\":\"%s\",\"service\":\"%s\",\"message\":\"%s\"}\n",
                  t, level, svc, msg);
}

size_t cl_incident_gen_slice(struct cl_incident_gen *ig, int64_t t, int64_t step_ms,
                             struct cl_buf *b)
{
    size_t n = 0;
    char msg[200];
    for (int s = 0; s < CL_INC_SERVICES; s++) {
        const char *svc = services[s].name;
        if (active(ig, svc, CL_INC_SILENCE, t))
            continue;
        double hour = (double)((t - ig->start_ms) % CL_INC_DAY_MS) / 3600000.0;
        double season = 1 + 0.6 * cos(2 * M_PI * (hour - services[s].peak_h) / 24);
        double rate = services[s].per_min * season * (double)step_ms / 60000.0;
        if (active(ig, svc, CL_INC_SPIKE, t))
            rate *= 5;
        double err = 0.01;
        if (active(ig, svc, CL_INC_ERROR_BURST, t))
            err = 0.30;
        const struct cl_incident *dr = active(ig, svc, CL_INC_DRIFT, t);
        if (dr)
            err = 0.01 + 0.11 * (double)(t - dr->start_ms) / (double)(dr->end_ms - dr->start_ms);
        unsigned k = poisson(&ig->g, rate);
        for (unsigned i = 0; i < k; i++) {
            int64_t ts = t + (int64_t)cl_gen_below(&ig->g, (uint32_t)step_ms);
            unsigned a = cl_gen_below(&ig->g, 100000), c = cl_gen_below(&ig->g, 900) + 1;
            if (uniform(&ig->g) < err) {
                snprintf(msg, sizeof msg, errors[cl_gen_below(&ig->g, 2)], a % 250, c);
                emit(b, ts, "error", svc, msg);
            } else {
                snprintf(msg, sizeof msg, templates[cl_gen_below(&ig->g, 8)], a, c);
                emit(b, ts, cl_gen_below(&ig->g, 10) ? "info" : "debug", svc, msg);
            }
            n++;
        }
        if (active(ig, svc, CL_INC_NEW_PATTERN, t)) {
            unsigned m = poisson(&ig->g, 5.0 * (double)step_ms / 60000.0);
            for (unsigned i = 0; i < m; i++, n++) {
                snprintf(msg, sizeof msg, new_error, cl_gen_below(&ig->g, 900) + 100,
                         cl_gen_below(&ig->g, 100000));
                emit(b, t + (int64_t)cl_gen_below(&ig->g, (uint32_t)step_ms), "error", svc, msg);
            }
        }
    }
    return n;
}
