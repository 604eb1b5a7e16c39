/**
 * `lib/components/base/modal`: amoCRM's modal window, as widgets use it.
 * `new Modal({class_name, init($body), destroy()})` opens a window and hands `init` the
 * jQuery `.modal-body`; `destroy` may return `false` to veto closing; `m.destroy()` closes it.
 * `new Modal().showSuccess(text, reload, timeout)` and `.showError(text, reload)` show the
 * standard result windows. Escape, the overlay and the × close the top-most window.
 */
define(['jquery', 'underscore', 'lang'], function ($, _, lang) {
  'use strict';

  var stack = [];

  $(document).on('keydown.modal', function (e) {
    var top = stack[stack.length - 1];
    if (e.keyCode === 27 && top && !top.options.disable_escape_keydown) {
      top.destroy();
    }
  });

  function Modal(options) {
    this.options = _.extend({ class_name: '', init: null, destroy: null }, options || {});
    this.destroyed = false;
    if (options) {
      this._open();
      if (typeof this.options.init === 'function') {
        this.options.init.call(this, this.$modal_body);
      }
    }
  }

  Modal.prototype._open = function () {
    var self = this;
    this.$modal = $(
      '<div class="modal">' +
        '<div class="modal-overlay"></div>' +
        '<div class="modal-scroller">' +
          '<div class="modal-window">' +
            '<span class="modal-body__close" title="' + _.escape(lang.t('common.close')) + '">&times;</span>' +
            '<div class="modal-body"></div>' +
          '</div>' +
        '</div>' +
      '</div>'
    ).addClass(this.options.class_name);
    this.$modal_body = this.$modal.find('.modal-body');
    this.$modal.on('click', '.modal-body__close', function () { self.destroy(); });
    this.$modal.on('click', '.modal-scroller', function (e) {
      if (e.target === e.currentTarget && !self.options.disable_overlay_click) {
        self.destroy();
      }
    });
    this.$modal_body.on('modal:loaded', function () { self.$modal.addClass('modal-loaded'); });
    this.$modal_body.on('modal:centrify', function () { self.centrify(); });
    this.$modal.appendTo(document.body);
    $(document.body).addClass('body-modal-open');
    stack.push(this);
  };

  /** Keeps the window in view; the layout is centred by CSS, so this only rescrolls it. */
  Modal.prototype.centrify = function () {
    if (this.$modal) {
      this.$modal.find('.modal-scroller').scrollTop(0);
    }
  };

  /** Closes the window unless the `destroy` option vetoes it by returning `false`. */
  Modal.prototype.destroy = function () {
    if (this.destroyed || !this.$modal) {
      return;
    }
    if (typeof this.options.destroy === 'function' && this.options.destroy.call(this) === false) {
      return;
    }
    this.destroyed = true;
    this.$modal.remove();
    stack = _.without(stack, this);
    if (!stack.length) {
      $(document.body).removeClass('body-modal-open');
    }
  };

  Modal.prototype._result = function (kind, text, reload, timeout) {
    var self = this;
    this.options.class_name = 'modal-' + kind;
    this._open();
    this.$modal_body.append(
      $('<div class="modal-body__result"></div>').addClass('modal-body__result_' + kind).append(
        $('<span class="modal-body__result-icon"></span>'),
        $('<div class="modal-body__result-text"></div>').text(text || (kind === 'error' ? lang.t('common.error') : '')),
        kind === 'error' ? $('<button type="button" class="button-input js-modal-ok"></button>').text('OK') : null
      )
    );
    this.$modal_body.on('click', '.js-modal-ok', function () { self.destroy(); });
    var finish = function () {
      self.destroy();
      if (reload) {
        window.location.reload();
      }
    };
    if (kind === 'success') {
      setTimeout(finish, timeout || 3000);
    } else if (reload) {
      this.options.destroy = function () { setTimeout(function () { window.location.reload(); }, 0); };
    }
    return this;
  };

  Modal.prototype.showSuccess = function (text, reload, timeout) {
    return this._result('success', text, reload, timeout);
  };

  Modal.prototype.showError = function (text, reload) {
    return this._result('error', text, reload);
  };

  /** Old name of `showError` still found in widgets written against the older docs. */
  Modal.prototype._showError = Modal.prototype.showError;

  return Modal;
});
