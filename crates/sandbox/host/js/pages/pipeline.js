/**
 * The leads pipeline board (`/leads/pipeline/:id`): a column per stage with
 * `.pipeline_leads__item` cards (name, price, tags, a no-task/overdue marker from
 * `closest_task_at`) linking to the lead card. Leads come from
 * `/api/v4/leads?filter[pipeline_id]=…&limit=250` a few pages at a time, with a
 * "show more" button, so pipelines with 100 000 deals stay usable.
 */
define(['jquery', 'underscore', 'http', 'format', 'lang'], function ($, _, http, format, lang) {
  'use strict';

  var LIMIT = 250;
  var PAGES_PER_BATCH = 4;
  var CLOSED = [142, 143];

  function taskMarker(lead, nowUnix) {
    if (_.contains(CLOSED, lead.status_id)) {
      return '';
    }
    if (!lead.closest_task_at) {
      return '<div class="pipeline_leads__task pipeline_leads__task_none">' + _.escape(lang.t('leads.no_task')) + '</div>';
    }
    if (lead.closest_task_at < nowUnix) {
      return '<div class="pipeline_leads__task pipeline_leads__task_overdue">' + _.escape(lang.t('leads.overdue')) + '</div>';
    }
    return '<div class="pipeline_leads__task">' + _.escape(lang.t('leads.task_at', format.dateTime(lead.closest_task_at))) + '</div>';
  }

  function itemHtml(lead, nowUnix) {
    var tags = ((lead._embedded && lead._embedded.tags) || []).map(function (tag) {
      return '<span class="pipeline_leads__tag">' + _.escape(tag.name) + '</span>';
    }).join('');
    return '<div class="pipeline_leads__item" data-id="' + lead.id + '">' +
      '<a class="pipeline_leads__title-text js-navigate-link" href="/leads/detail/' + lead.id + '">' + _.escape(lead.name) + '</a>' +
      '<div class="pipeline_leads__price">' + _.escape(format.price(lead.price)) + '</div>' +
      (tags ? '<div class="pipeline_leads__tags">' + tags + '</div>' : '') +
      taskMarker(lead, nowUnix) +
      '</div>';
  }

  return function pipelinePage(id) {
    var pipelines = format.pipelines();
    var pipeline = format.pipeline(id) || _.findWhere(pipelines, { is_main: true }) || pipelines[0];
    var state = { next: 1, done: false, shown: 0, destroyed: false, counts: {}, sums: {} };
    var $root;

    function loadBatch() {
      var last = state.next + PAGES_PER_BATCH;
      var step = function () {
        if (state.destroyed || state.done || state.next >= last) {
          return Promise.resolve();
        }
        var page = state.next;
        state.next += 1;
        return http.get('/api/v4/leads', { filter: { pipeline_id: pipeline.id }, limit: LIMIT, page: page }).then(function (answer) {
          var leads = (answer && answer._embedded && answer._embedded.leads) || [];
          if (!state.destroyed) {
            append(leads);
          }
          if (!answer || !answer._links || !answer._links.next || leads.length < LIMIT) {
            state.done = true;
          }
          return step();
        });
      };
      $root.find('.js-pipeline-more').prop('disabled', true);
      return step().then(function () {
        $root.find('.pipeline__more').toggle(!state.done);
        $root.find('.js-pipeline-more').prop('disabled', false);
      });
    }

    function append(leads) {
      var nowUnix = Math.floor(Date.now() / 1000);
      var byStatus = _.groupBy(leads, 'status_id');
      _.each(byStatus, function (list, statusId) {
        state.counts[statusId] = (state.counts[statusId] || 0) + list.length;
        state.sums[statusId] = (state.sums[statusId] || 0) + list.reduce(function (sum, lead) { return sum + (Number(lead.price) || 0); }, 0);
        var $column = $root.find('.pipeline_status[data-id="' + statusId + '"]');
        $column.find('.js-pipeline-row').append(list.map(function (lead) { return itemHtml(lead, nowUnix); }).join(''));
        $column.find('.js-count').text(state.counts[statusId]);
        $column.find('.js-sum').text(format.price(state.sums[statusId]));
      });
      state.shown += leads.length;
      $root.find('.pipeline__shown').text(lang.t('leads.shown', state.shown));
    }

    return {
      entity: 'leads',
      widgetsArea: 'leads-pipeline',
      area: 'everywhere',
      menu: 'leads',
      title: lang.t('leads.title'),
      listUrl: '/leads/pipeline/' + (pipeline ? pipeline.id : '') + '/',

      render: function ($holder) {
        if (!pipeline) {
          $holder.append($('<div class="page-empty"></div>').text(lang.t('common.not_found')));
          return Promise.resolve();
        }
        $root = $('<div class="pipeline"></div>');
        var $tabs = $('<div class="pipeline__tabs"></div>');
        pipelines.forEach(function (p) {
          $tabs.append($('<a class="pipeline__tab js-navigate-link"></a>')
            .attr('href', '/leads/pipeline/' + p.id + '/').text(p.name).toggleClass('pipeline__tab_active', p.id === pipeline.id));
        });
        $tabs.append($('<a class="pipeline__tab pipeline__tab_list js-navigate-link" href="/leads/list/"></a>').text(lang.t('leads.list')));
        var $body = $('<div class="pipeline__body"></div>');
        _.sortBy(pipeline.statuses, 'sort').forEach(function (status) {
          $body.append(
            $('<div class="pipeline_status"></div>').attr('data-id', status.id).append(
              $('<div class="pipeline_status__head"></div>').css('border-bottom-color', status.color || '#ccc').append(
                $('<div class="pipeline_status__head_title"></div>').text(status.name),
                $('<div class="pipeline_status__head_info"></div>').append(
                  $('<span class="js-count">0</span>'), ' · ', $('<span class="js-sum"></span>').text(format.price(0)))
              ),
              $('<div class="pipeline_items__list js-pipeline-row"></div>').attr('data-status-id', status.id)
            )
          );
        });
        $root.append(
          $('<div class="pipeline__head"></div>').append($tabs, $('<span class="pipeline__shown"></span>')),
          $body,
          $('<div class="pipeline__more"></div>').append(
            $('<button type="button" class="button-input js-pipeline-more"></button>').text(lang.t('common.more')))
        );
        $root.on('click', '.js-pipeline-more', function () {
          loadBatch().catch(function (error) { window.APP.notifications.show_message_error({ header: lang.t('common.error'), text: error.message }); });
        });
        $holder.append($root);
        return loadBatch();
      },

      destroy: function () {
        state.destroyed = true;
      }
    };
  };
});
