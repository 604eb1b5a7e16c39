/**
 * The leads list (`/leads/list/`): a table of leads with row checkboxes that feed
 * `APP.data.current_list` (read by `self.list_selected()`), and a mass-actions bar
 * (`#list_multiple_actions`) offering the widgets that define `leads.selected`.
 */
define(['jquery', 'underscore', 'http', 'format', 'lang', 'widgets/manager'], function ($, _, http, format, lang, widgets) {
  'use strict';

  var LIMIT = 250;

  return function listPage() {
    var state = { next: 1, done: false, destroyed: false };
    var rows = [];
    var $root;

    function rowHtml(lead) {
      var status = format.status(lead.pipeline_id, lead.status_id);
      var pipeline = format.pipeline(lead.pipeline_id);
      return '<tr class="list-row" data-id="' + lead.id + '">' +
        '<td><input type="checkbox" class="list-row__checkbox" value="' + lead.id + '"></td>' +
        '<td><a class="list-row__name js-navigate-link" href="/leads/detail/' + lead.id + '">' + _.escape(lead.name) + '</a></td>' +
        '<td>' + _.escape((pipeline ? pipeline.name + ' / ' : '') + (status ? status.name : lead.status_id)) + '</td>' +
        '<td class="list-row__price">' + _.escape(format.price(lead.price)) + '</td>' +
        '<td>' + _.escape(format.userName(lead.responsible_user_id)) + '</td>' +
        '</tr>';
    }

    function load() {
      var page = state.next;
      state.next += 1;
      return http.get('/api/v4/leads', { limit: LIMIT, page: page }).then(function (answer) {
        var leads = (answer && answer._embedded && answer._embedded.leads) || [];
        if (state.destroyed) {
          return;
        }
        leads.forEach(function (lead) {
          rows.push({ id: lead.id, name: lead.name, checked: false, type: 'lead' });
        });
        $root.find('tbody').append(leads.map(rowHtml).join(''));
        state.done = !answer || !answer._links || !answer._links.next || leads.length < LIMIT;
        $root.find('.list__more').toggle(!state.done);
      });
    }

    function refreshActions() {
      var selected = _.where(rows, { checked: true });
      var $bar = $root.find('#list_multiple_actions').toggle(selected.length > 0);
      $bar.find('.list-actions__count').text(lang.t('leads.selected', selected.length));
      var $buttons = $bar.find('.list-actions__widgets').empty();
      widgets.withCallback('leads.selected').forEach(function (info) {
        $buttons.append($('<button type="button" class="button-input js-list-widget-action"></button>')
          .attr('data-code', info.code).text(info.code));
        widgets.langs(info.code).then(function (langs) {
          var name = widgets.lookup(langs, (info.manifest && info.manifest.widget && info.manifest.widget.name) || '');
          if (typeof name === 'string') {
            $buttons.find('[data-code="' + info.code + '"]').text(name);
          }
        });
      });
    }

    return {
      entity: 'leads',
      widgetsArea: 'leads',
      area: 'llist',
      menu: 'leads',
      title: lang.t('leads.title'),
      listUrl: '/leads/list/',

      render: function ($holder) {
        window.APP.data.current_list = rows;
        $root = $('<div class="list"></div>').append(
          $('<div class="list__head"></div>').append(
            $('<a class="pipeline__tab js-navigate-link" href="/leads/pipeline/"></a>').text(lang.t('leads.pipeline')),
            $('<span class="pipeline__tab pipeline__tab_active"></span>').text(lang.t('leads.list'))
          ),
          $('<div id="list_multiple_actions" class="list-actions"></div>').hide().append(
            $('<span class="list-actions__count"></span>'), $('<span class="list-actions__widgets"></span>')),
          $('<table class="list__table"><thead><tr><th><input type="checkbox" class="list__check-all"></th>' +
            '<th></th><th></th><th></th><th></th></tr></thead><tbody></tbody></table>'),
          $('<div class="list__more"></div>').append($('<button type="button" class="button-input js-list-more"></button>').text(lang.t('common.more')))
        );
        var headers = [lang.t('leads.name'), lang.t('leads.status'), lang.t('leads.price'), lang.t('leads.responsible')];
        $root.find('thead th').slice(1).each(function (i) { $(this).text(headers[i]); });
        $root.on('change', '.list-row__checkbox', function () {
          var row = _.findWhere(rows, { id: Number(this.value) });
          if (row) {
            row.checked = this.checked;
          }
          refreshActions();
        });
        $root.on('change', '.list__check-all', function () {
          var checked = this.checked;
          rows.forEach(function (row) { row.checked = checked; });
          $root.find('.list-row__checkbox').prop('checked', checked);
          refreshActions();
        });
        $root.on('click', '.js-list-widget-action', function () {
          widgets.callList($(this).attr('data-code'), 'leads.selected');
        });
        $root.on('click', '.js-list-more', function () {
          load().catch(function (error) { window.APP.notifications.show_message_error({ header: lang.t('common.error'), text: error.message }); });
        });
        $holder.append($root);
        return load();
      },

      destroy: function () {
        state.destroyed = true;
      }
    };
  };
});
