// A plain JavaScript implementation of LeakGuard's key metrics, straight from amoCRM's JSON.
// It is written from the rules (not from the Rust code) so the tests can check the widget's
// numbers independently, and the benchmark can compare the widget with what a JavaScript
// widget would do in the same browser. It runs in Node and in the browser.

const LOST = 143;
const WON = 142;
const DAY = 86400;

/** `part / whole` in basis points, rounded half up; 0 when `whole` is 0. */
export function shareBp(part, whole) {
  return whole === 0 ? 0 : Math.floor((part * 20000 + whole) / (2 * whole));
}

/** The UTC offset of an IANA zone at an instant, in seconds, through Intl, remembered per hour. */
export function zoneOffsets(timeZone) {
  const format = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' });
  const byHour = new Map();
  return (t) => {
    const hour = Math.floor(t / 3600);
    let offset = byHour.get(hour);
    if (offset === undefined) {
      const name = format.formatToParts(new Date(hour * 3600 * 1000)).find((p) => p.type === 'timeZoneName').value;
      const m = /GMT([+\-\u2212])(\d+)(?::(\d+))?/.exec(name);
      offset = m ? (m[1] === '+' ? 1 : -1) * (Number(m[2]) * 3600 + Number(m[3] || 0) * 60) : 0;
      byHour.set(hour, offset);
    }
    return offset;
  };
}

/** Days since 1970-01-01 of a `YYYY-MM-DD` date. */
export function dayOf(text) {
  return Math.round(Date.UTC(Number(text.slice(0, 4)), Number(text.slice(5, 7)) - 1, Number(text.slice(8, 10))) / (DAY * 1000));
}

/** A custom working-day calendar: weekly days off (ISO numbers), holidays and extra working days. */
export function customCalendar({ weekend = [6, 7], holidays = [], extra_working_days = [] } = {}) {
  const off = new Set(weekend);
  const holiday = new Set(holidays.map(dayOf));
  const extra = new Set(extra_working_days.map(dayOf));
  return (day) => extra.has(day) || !(off.has(((day % 7) + 7 + 3) % 7 + 1) || holiday.has(day));
}

/** Seconds of `[from, to)` that lie on local working days, a whole working day being 24 hours. */
export function workingSeconds(from, to, offset, isWorking) {
  if (to <= from) return 0;
  const localDay = (t) => Math.floor((t + offset(t)) / DAY);
  const startOf = (day) => {
    // Local midnight; around a clock change the earlier instant, as the Rust core does.
    const local = day * DAY;
    const before = offset(local - DAY);
    const after = offset(local + DAY);
    const fits = (o) => offset(local - o) === o;
    const o = fits(before) && fits(after) ? Math.max(before, after) : fits(after) && !fits(before) ? after : before;
    return local - o;
  };
  const first = localDay(from);
  const last = localDay(to);
  if (first === last) return isWorking(first) ? to - from : 0;
  const head = isWorking(first) ? startOf(first + 1) - from : 0;
  const tail = isWorking(last) ? to - startOf(last) : 0;
  let middle = 0;
  for (let day = first + 1; day < last; day++) if (isWorking(day)) middle++;
  return head + middle * DAY + tail;
}

/** A limit `{working_days: n}` or `{hours: n}` in seconds, or null. */
function limitSeconds(limit) {
  if (!limit) return null;
  if (limit.working_days !== undefined) return limit.working_days * DAY;
  if (limit.hours !== undefined) return limit.hours * 3600;
  return null;
}

function bucket() {
  return { count: 0, value: 0, deals: [] };
}

function add(b, deal, value = deal.price || 0) {
  b.count += 1;
  b.value += value;
  b.deals.push(deal.id);
}

function groupBy(map, key, deal) {
  if (!map.has(key)) map.set(key, bucket());
  add(map.get(key), deal);
}

/**
 * The key metrics.
 * `leads` and `tasks` are API objects (any statuses; deleted ones and completed tasks are skipped
 * here). `filter` is `{from, to, pipeline, manager, group}` (the last three may be null),
 * `stuck` the `stuck` part of the settings, `isWorking(day)` the calendar, `offset(t)` the zone.
 */
export function keyMetrics({ leads, tasks, now, filter, stuck = {}, isWorking, offset }) {
  const matches = (lead) =>
    !lead.is_deleted &&
    (filter.pipeline == null || lead.pipeline_id === filter.pipeline) &&
    (filter.manager == null || lead.responsible_user_id === filter.manager) &&
    (filter.group == null || (lead.group_id || 0) === filter.group);

  const lost = (from, to) => {
    const total = bucket();
    const reasons = new Map();
    const managers = new Map();
    for (const lead of leads) {
      if (lead.status_id !== LOST || lead.closed_at == null || lead.closed_at < from || lead.closed_at >= to || !matches(lead)) continue;
      add(total, lead);
      groupBy(reasons, lead.loss_reason_id || null, lead);
      groupBy(managers, lead.responsible_user_id, lead);
    }
    const byReason = [...reasons].map(([reason, b]) => ({
      reason,
      ...b,
      countShareBp: shareBp(b.count, total.count),
      valueShareBp: shareBp(b.value, total.value),
    }));
    byReason.sort((a, b) => b.count - a.count || b.value - a.value || (a.reason ?? -1) - (b.reason ?? -1));
    return { total, byReason, byManager: managers };
  };

  // The earliest deadline of each deal's open lead tasks.
  const earliest = new Map();
  for (const task of tasks) {
    if (task.is_completed || task.entity_type !== 'leads' || !task.complete_till) continue;
    const known = earliest.get(task.entity_id);
    if (known === undefined || task.complete_till < known) earliest.set(task.entity_id, task.complete_till);
  }

  const breakdown = () => ({ total: bucket(), byStage: new Map(), byManager: new Map() });
  const put = (b, lead) => {
    add(b.total, lead);
    groupBy(b.byStage, `${lead.pipeline_id}:${lead.status_id}`, lead);
    groupBy(b.byManager, lead.responsible_user_id, lead);
  };
  const overdue = breakdown();
  const without = breakdown();
  const stuckDeals = breakdown();
  const escalated = bucket();
  const enabled = stuck.enabled !== false;
  for (const lead of leads) {
    if (lead.is_deleted || lead.status_id === WON || lead.status_id === LOST || !matches(lead)) continue;
    const deadline = earliest.get(lead.id);
    if (deadline === undefined) put(without, lead);
    else if (deadline < now) put(overdue, lead);
    if (!enabled) continue;
    const own = (stuck.stages || []).find((s) => s.stage.pipeline_id === lead.pipeline_id && s.stage.status_id === lead.status_id);
    const limit = limitSeconds(own ? own.limit : stuck.default_limit);
    const escalate = limitSeconds(own ? own.escalate_after : stuck.default_escalate_after);
    if (limit === null && escalate === null) continue;
    // amoCRM does not say when a deal entered its stage; its last change stands in.
    const elapsed = workingSeconds(lead.updated_at, now, offset, isWorking);
    if (escalate !== null && elapsed >= escalate) {
      put(stuckDeals, lead);
      add(escalated, lead);
    } else if (limit !== null && elapsed >= limit) {
      put(stuckDeals, lead);
    }
  }
  return {
    lost: lost(filter.from, filter.to),
    lostPrevious: lost(filter.from - (filter.to - filter.from), filter.from),
    overdueTasks: overdue,
    withoutTask: without,
    stuck: stuckDeals,
    escalated,
  };
}

/** The headline numbers in the order the widget's `benchmark` export returns them. */
export function headline(m) {
  return [
    m.lost.total.count, m.lost.total.value,
    m.lostPrevious.total.count, m.lostPrevious.total.value,
    m.overdueTasks.total.count, m.overdueTasks.total.value,
    m.withoutTask.total.count, m.withoutTask.total.value,
    m.stuck.total.count, m.stuck.total.value,
    m.escalated.count,
  ];
}

/**
 * Decodes list pages as fetched (UTF-8 bytes, or text) and computes: what a JavaScript widget
 * would do with `response.json()`.
 */
export function fromPages({ leadPages, taskPages, ...rest }) {
  const decoder = new TextDecoder();
  const parse = (page) => JSON.parse(typeof page === 'string' ? page : decoder.decode(page));
  const leads = [];
  for (const page of leadPages) for (const lead of parse(page)._embedded.leads) leads.push(lead);
  const tasks = [];
  for (const page of taskPages) for (const task of parse(page)._embedded.tasks) tasks.push(task);
  return keyMetrics({ leads, tasks, ...rest });
}
