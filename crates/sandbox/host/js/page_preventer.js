/**
 * amoCRM's page preventer (`common/page_preventer` in its bundle), mixed into `APP.router`:
 * `registerPreventConfig(config, code)`, `preventPageChange(flag, code)`,
 * `removePreventConfig(code)`, `confirmPageChange(config, proceed)`, `getPreventFlag()`.
 * While a config is armed it wraps `Backbone.History.prototype.navigate` (every
 * `navigate(..., {trigger: true})` first shows the native `.modal-leave-confirm` dialog),
 * `router.back()` asks first, and `window.onbeforeunload` returns a message.
 * `code` defaults to `APP.data.current_entity`. Browser Back/Forward (popstate) does not go
 * through `navigate` and is not stopped, as in amoCRM.
 */
define(['jquery', 'underscore', 'backbone', 'lib/components/base/modal', 'lang'], function ($, _, Backbone, Modal, lang) {
  'use strict';

  var configs = {};
  var armed = [];
  var unloadEnabled = true;
  var originalNavigate = Backbone.History.prototype.navigate;

  function currentCode() {
    return (window.APP && window.APP.data && window.APP.data.current_entity) || '';
  }

  /** The code whose config guards in-app navigation now: the current entity's first, else the latest armed. */
  function navigationCode() {
    var candidates = armed.filter(function (code) {
      return configs[code] && !configs[code].onlyBeforeUnload;
    });
    if (!candidates.length) {
      return null;
    }
    return _.contains(candidates, currentCode()) ? currentCode() : candidates[candidates.length - 1];
  }

  var mixin = {
    registerPreventConfig: function (config, code) {
      code = code || currentCode();
      configs[code] = config || {};
      return code;
    },

    removePreventConfig: function (code) {
      code = code || currentCode();
      armed = _.without(armed, code);
      delete configs[code];
    },

    /** Arms (`true`) or disarms (`false`) the config registered under `code`; arming needs one. */
    preventPageChange: function (flag, code) {
      code = code || currentCode();
      if (!flag) {
        armed = _.without(armed, code);
        return true;
      }
      if (!configs[code]) {
        return false;
      }
      if (!_.contains(armed, code)) {
        armed.push(code);
      }
      return true;
    },

    getPreventFlag: function () {
      return armed.length > 0;
    },

    /**
     * Wraps a pending navigation into the `proceed` callback handed to `accept`/`decline`:
     * called without a code it disarms only the current entity's config, as amoCRM's does.
     */
    makeProceed: function (action) {
      var router = this;
      return function (code) {
        router.preventPageChange(false, code || currentCode());
        action();
      };
    },

    /** The guarded check used by `navigate` and `back`: runs `action` now or after confirmation. */
    guardNavigation: function (action) {
      var code = navigationCode();
      if (code === null) {
        action();
        return true;
      }
      this.confirmPageChange(configs[code], this.makeProceed(action));
      return false;
    },

    /** Navigates without asking (used after a confirmed `back()`). */
    navigateUnguarded: function (fragment, options) {
      return originalNavigate.call(Backbone.history, fragment, options);
    },

    /**
     * Shows the native leave-confirm dialog. Accept calls `config.accept(proceed)` or
     * `proceed()`. Cancel calls `config.decline(proceed, false)` if given, otherwise it lets
     * the navigation through (amoCRM's behaviour); only × and Escape keep the user on the page.
     * `config.init(show)`, when given, is called first and must call `show` to display the
     * dialog (the bundle's `init(cb)` signature; its exact use is unconfirmed).
     */
    confirmPageChange: function (config, proceed) {
      config = config || {};
      proceed = typeof proceed === 'function' ? proceed : function () {};
      var show = function () {
        var modal = new Modal({
          class_name: 'modal-leave-confirm',
          init: function ($body) {
            var $buttons = $('<div class="modal-leave-confirm__buttons"></div>');
            $buttons.append($('<button type="button" class="button-input button-input_blue js-modal-accept"></button>')
              .append($('<span class="button-input-inner__text"></span>').text(config.accept_text || lang.t('confirm.accept'))));
            if (!config.no_cancel) {
              $buttons.append($('<button type="button" class="button-input js-modal-decline"></button>')
                .toggleClass('button-input_gray', !!config.gray_button)
                .append($('<span class="button-input-inner__text"></span>').text(config.decline_text || lang.t('confirm.decline'))));
            }
            $body.append(
              $('<div class="modal-leave-confirm__title"></div>').text(config.title || config.message || lang.t('confirm.title')),
              $('<div class="modal-leave-confirm__description"></div>').text(
                config.description !== undefined ? config.description : lang.t('confirm.description')),
              $buttons
            );
            $body.attr({ role: 'dialog', 'aria-modal': 'true' });
            $body.on('click', function (e) {
              if (!$(e.target).closest('.button-input').length) {
                e.stopPropagation();
              }
            });
            $body.on('click', '.js-modal-accept', function () {
              modal.destroy();
              if (typeof config.accept === 'function') {
                config.accept(proceed);
              } else {
                proceed();
              }
            });
            $body.on('click', '.js-modal-decline', function () {
              modal.destroy();
              if (typeof config.decline === 'function') {
                config.decline(proceed, false);
              } else {
                proceed();
              }
            });
            $body.trigger('modal:loaded');
          },
          destroy: function () {
            if (typeof config.destroy === 'function') {
              config.destroy();
            }
          }
        });
        return modal;
      };
      if (typeof config.init === 'function') {
        config.init(show);
        return null;
      }
      return show();
    }
  };

  /** Installs the `navigate` wrapper and the unload prompt once the router exists. */
  function install(router) {
    Backbone.History.prototype.navigate = function (fragment, options) {
      var history = this;
      var trigger = options === true || (options && options.trigger);
      if (!trigger) {
        return originalNavigate.apply(this, arguments);
      }
      return router.guardNavigation(function () {
        originalNavigate.call(history, fragment, options);
      });
    };
    window.onbeforeunload = function (e) {
      if (unloadEnabled && router.getPreventFlag()) {
        var message = lang.t('unload.message');
        e.returnValue = message;
        return message;
      }
      return undefined;
    };
    $(window).on('page-preventer:disable-unload', function () { unloadEnabled = false; });
    $(window).on('page-preventer:enable-unload', function () { unloadEnabled = true; });
  }

  return { mixin: mixin, install: install };
});
