/**
 * `APP.notifications`: pop-up toasts in the corner of the page and the notification
 * centre behind the bell in the top bar (`add_error` and `add_call` land in both,
 * `show_*` only pop up), following the documented argument shapes.
 */
define(['jquery', 'underscore', 'moment', 'lang'], function ($, _, moment, lang) {
  'use strict';

  var TOAST_MS = 6000;
  var centre = [];

  function $toasts() {
    var $box = $('#popup_notifications');
    if (!$box.length) {
      $box = $('<div id="popup_notifications" class="popup-notifications" aria-live="polite"></div>').appendTo(document.body);
    }
    return $box;
  }

  function formatDate(date) {
    if (!date) {
      return '';
    }
    var m = typeof date === 'number' ? moment.unix(date) : moment(date);
    return m.isValid() ? m.format('DD.MM.YYYY HH:mm') : String(date);
  }

  /** Draws one toast; `kind` is message, error, notification or call. */
  function toast(kind, header, text, date, link) {
    var $item = $('<div class="notification__item"></div>').addClass('notification__item_' + kind);
    $item.append($('<span class="notification__close">&times;</span>'));
    if (header) {
      $item.append($('<div class="notification__header"></div>').text(header));
    }
    if (text) {
      $item.append($('<div class="notification__text"></div>').text(text));
    }
    if (date) {
      $item.append($('<div class="notification__date"></div>').text(formatDate(date)));
    }
    if (link) {
      $item.append($('<a class="notification__link js-navigate-link"></a>').attr('href', link).text(link));
    }
    $item.on('click', '.notification__close', function () { $item.remove(); });
    $toasts().append($item);
    setTimeout(function () { $item.fadeOut(200, function () { $item.remove(); }); }, TOAST_MS);
    return $item;
  }

  function remember(kind, header, text, date) {
    centre.unshift({ kind: kind, header: header || '', text: text || '', date: date || moment().unix() });
    $(document).trigger('notifications:changed');
  }

  return {
    /** The notification centre's entries, newest first (read by the top bar). */
    list: function () { return centre.slice(); },
    show_message: function (params) {
      params = params || {};
      return toast('message', params.header, params.text, params.date, params.link);
    },
    show_message_error: function (params) {
      params = params || {};
      return toast('error', params.header, params.text, params.date, params.link);
    },
    show_notification: function (params) {
      params = params || {};
      var text = params.text || {};
      if (typeof text === 'string') {
        text = { header: '', text: text };
      }
      return toast(params.type === 'error' ? 'error' : (params.type || 'notification'), text.header, text.text, params.date);
    },
    add_error: function (params) {
      params = params || {};
      var header = params.header || lang.t('common.error');
      remember('error', header, params.text, params.date);
      return toast('error', header, params.text, params.date, params.link);
    },
    add_call: function (params) {
      params = params || {};
      var header = [params.from, params.to].filter(Boolean).join(' → ');
      remember('call', header, params.text, params.date);
      return toast('call', header, params.text, params.date, params.link);
    }
  };
});
