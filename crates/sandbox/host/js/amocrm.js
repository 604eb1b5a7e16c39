/**
 * Builds the page's global `window.AMOCRM` (the same object as `window.APP`) from the
 * sandbox bootstrap: constants, language, current page data, entity and field type ids,
 * date formats, the widgets registry, notifications and the SDK helpers widgets read.
 * The router and the widgets manager fill in `router`, `data.*` and `widgets.*` later.
 */
define(['underscore', 'notifications'], function (_, notifications) {
  'use strict';

  function build(bootstrap) {
    var user = _.extend({}, bootstrap.user);
    var constants = {
      user: user,
      user_rights: _.extend({}, bootstrap.user_rights),
      account: _.extend({}, bootstrap.account, {
        pipelines: bootstrap.pipelines,
        loss_reasons: bootstrap.loss_reasons
      }),
      managers: bootstrap.managers || {},
      groups: bootstrap.groups || {},
      task_types: bootstrap.task_types || {}
    };

    var app = {
      lang_id: bootstrap.lang_id,

      /** Reads a constant; with a second argument it sets one, as amoCRM's does. */
      constant: function (key, value) {
        if (arguments.length > 1) {
          constants[key] = value;
          return value;
        }
        return constants[key];
      },

      data: {
        current_card: false,
        current_entity: null,
        current_view: null,
        current_list: null,
        is_card: false
      },

      /** The page code of the current view (`leads_card`, `leads-pipeline`, `advanced-settings:<code>`, ...). */
      getWidgetsArea: function () {
        return app.data.widgets_area || null;
      },
      /** The entity of the current page (`leads`, `todo`, `settings`, ...). */
      getBaseEntity: function () {
        return app.data.base_entity || app.data.current_entity;
      },
      isCard: function () {
        return !!app.data.is_card;
      },

      // Entity type ids used across amoCRM (contacts 1, leads 2, companies 3, tasks 4, customers 12).
      element_types: { contacts: 1, leads: 2, companies: 3, todo: 4, tasks: 4, customers: 12 },

      // Custom field type ids keyed by the API v4 type names. The classic ids 1-11, 13, 14 and
      // 19 come from the amoCRM API docs; the newer types are left out rather than guessed.
      cf_types: {
        text: 1, numeric: 2, checkbox: 3, select: 4, multiselect: 5, date: 6, url: 7,
        multitext: 8, textarea: 9, radiobutton: 10, streetaddress: 11, smart_address: 13,
        birthday: 14, date_time: 19
      },

      // Date formats of a Russian-locale account (DD.MM.YYYY), used by widgets with moment.
      system: {
        format: {
          date: { date: 'DD.MM.YYYY', date_short: 'DD.MM', full: 'DD.MM.YYYY HH:mm', time: 'HH:mm' }
        }
      },

      widgets: {
        system: {},
        list: {}
      },

      notifications: notifications,

      sdk: {
        calling: false,
        /** Pauses (true) or resumes (false) amoCRM's reload on deploys; the sandbox never deploys. */
        setCallingStatus: function (flag) {
          app.sdk.calling = !!flag;
        }
      }
    };

    window.AMOCRM = app;
    window.APP = app;
    return app;
  }

  return { build: build };
});
