/**
 * The tasks list (`/todo/line/`): open tasks ordered by deadline with their lead, type,
 * responsible and an overdue mark; lead names come from one extra `/api/v4/leads` call.
 */
define(['jquery', 'underscore', 'http', 'format', 'lang'], function ($, _, http, format, lang) {
  'use strict';

  return function todoPage() {
    return {
      entity: 'todo',
      widgetsArea: 'todo-line',
      area: 'tlist',
      menu: 'todo',
      title: lang.t('todo.title'),
      listUrl: '/todo/line/',

      render: function ($holder) {
        var $root = $('<div class="todo"></div>').appendTo($holder);
        return http.get('/api/v4/tasks', { filter: { is_completed: 0 }, order: { complete_till: 'asc' }, limit: 250 }).then(function (answer) {
          var tasks = (answer && answer._embedded && answer._embedded.tasks) || [];
          if (!tasks.length) {
            $root.append($('<div class="page-empty"></div>').text(lang.t('todo.empty')));
            return;
          }
          var leadIds = _.uniq(tasks.filter(function (t) { return t.entity_type === 'leads' && t.entity_id; }).map(function (t) { return t.entity_id; }));
          var names = leadIds.length ? http.get('/api/v4/leads', { filter: { id: leadIds }, limit: 250 }) : Promise.resolve(null);
          return names.then(function (leadsAnswer) {
            var byId = _.indexBy((leadsAnswer && leadsAnswer._embedded && leadsAnswer._embedded.leads) || [], 'id');
            var nowUnix = Math.floor(Date.now() / 1000);
            var $list = $('<div class="todo__list"></div>');
            tasks.forEach(function (task) {
              var lead = byId[task.entity_id];
              var $row = $('<div class="todo__item"></div>').attr('data-id', task.id)
                .toggleClass('todo__item_overdue', task.complete_till < nowUnix);
              $row.append(
                $('<span class="todo__date"></span>').text(format.dateTime(task.complete_till)),
                $('<span class="todo__type"></span>').text(format.taskType(task.task_type_id)),
                $('<span class="todo__text"></span>').text(task.text),
                task.entity_type === 'leads' && task.entity_id ?
                  $('<a class="todo__entity js-navigate-link"></a>').attr('href', '/leads/detail/' + task.entity_id)
                    .text(lead ? lead.name : lang.t('todo.lead') + ' #' + task.entity_id) : $('<span class="todo__entity"></span>'),
                $('<span class="todo__user"></span>').text(format.userName(task.responsible_user_id))
              );
              $list.append($row);
            });
            $root.append($list);
          });
        });
      }
    };
  };
});
