/**
 * Formatting and lookups shared by the host pages: money in the account currency, dates
 * in the account timezone (moment-timezone), user, pipeline and status names from the
 * page constants.
 */
define(['underscore', 'moment', 'moment-timezone'], function (_, moment) {
  'use strict';

  function account() {
    return window.APP.constant('account');
  }

  function tz() {
    return account().timezone || 'UTC';
  }

  return {
    tz: tz,

    /** Unix seconds as a moment in the account timezone. */
    at: function (unix) {
      return moment.unix(unix).tz(tz());
    },

    /** The current moment in the account timezone. */
    now: function () {
      return moment().tz(tz());
    },

    /** `DD.MM.YYYY HH:mm` in the account timezone. */
    dateTime: function (unix) {
      return unix ? moment.unix(unix).tz(tz()).format('DD.MM.YYYY HH:mm') : '';
    },

    date: function (unix) {
      return unix ? moment.unix(unix).tz(tz()).format('DD.MM.YYYY') : '';
    },

    /** A local date and time typed into the page, read in the account timezone, as Unix seconds. */
    parseLocal: function (date, time) {
      var m = moment.tz(date + ' ' + (time || '23:59'), 'YYYY-MM-DD HH:mm', true, tz());
      return m.isValid() ? m.unix() : null;
    },

    price: function (value) {
      var number = Number(value) || 0;
      var text = String(Math.round(number)).replace(/\B(?=(\d{3})+(?!\d))/g, '\u00a0');
      return text + '\u00a0' + (account().currency_symbol || account().currency || '');
    },

    userName: function (id) {
      var manager = (window.APP.constant('managers') || {})[id];
      return manager ? (manager.title || manager.option || manager.login) : (id ? '#' + id : '');
    },

    pipelines: function () {
      return account().pipelines || [];
    },

    pipeline: function (id) {
      return _.find(account().pipelines || [], function (p) { return p.id === Number(id); }) || null;
    },

    status: function (pipelineId, statusId) {
      var pipeline = this.pipeline(pipelineId);
      return pipeline ? _.find(pipeline.statuses, function (s) { return s.id === Number(statusId); }) || null : null;
    },

    taskType: function (id) {
      var type = (window.APP.constant('task_types') || {})[id];
      return type ? type.option : '';
    }
  };
});
