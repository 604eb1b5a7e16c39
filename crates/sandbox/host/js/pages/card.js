/**
 * The lead card (`/leads/detail/:id`), built from `GET /ajax/sandbox/leads/:id/card`.
 * It sets `APP.data.current_card` the way widgets find it on amoCRM's card: a Backbone
 * form model (`lead[NAME]`, `lead[PRICE]`, `lead[STATUS]`, `lead[PIPELINE_ID]`,
 * `MAIN_USER`, as strings like the real form, with `defaults` holding the last saved
 * values), `$save_btn`, `getPipelineId()`, and the feed collection `notes.notes`.
 * Save PATCHes `/api/v4/leads/:id`; the feed completes tasks (PATCH `/api/v4/tasks/:id`);
 * the composer POSTs tasks (deadline typed in the account timezone) and notes.
 * The right column `#widgets_block .card-widgets__elements` receives the widgets' blocks.
 */
define(['jquery', 'underscore', 'backbone', 'http', 'format', 'lang', 'widgets/manager'],
function ($, _, Backbone, http, format, lang, widgets) {
  'use strict';

  var TASK = 4;
  var LOST = 143;

  function attributesOf(lead) {
    var attributes = {
      'lead[NAME]': lead.name || '',
      'lead[PRICE]': String(lead.price || 0),
      'lead[STATUS]': String(lead.status_id),
      'lead[PIPELINE_ID]': String(lead.pipeline_id),
      'lead[LOSS_REASON_ID]': lead.loss_reason_id ? String(lead.loss_reason_id) : '',
      'MAIN_USER': String(lead.responsible_user_id)
    };
    (lead.custom_fields_values || []).forEach(function (field) {
      attributes['CFV[' + field.field_id + ']'] = (field.values || []).map(function (v) { return v.value; }).join(', ');
    });
    return attributes;
  }

  function taskItem(task) {
    return {
      id: task.id,
      object_type: { id: TASK, code: 'task' },
      status: task.is_completed ? 1 : 0,
      responsible_user_id: task.responsible_user_id,
      task_type_id: task.task_type_id,
      text: task.text,
      complete_till: task.complete_till,
      created_at: task.created_at,
      updated_at: task.updated_at,
      result: task.result && task.result.text ? { text: task.result.text } : {},
      entity_id: task.entity_id,
      entity_type: task.entity_type
    };
  }

  // Notes carry a non-task object type; amoCRM's exact id for notes is unconfirmed, so 0 is used.
  function noteItem(note) {
    return {
      id: note.id,
      object_type: { id: 0, code: 'note' },
      note_type: note.note_type,
      params: note.params || {},
      text: (note.params && note.params.text) || '',
      created_at: note.created_at,
      created_by: note.created_by,
      responsible_user_id: note.responsible_user_id
    };
  }

  function contactData(contact) {
    var values = function (code) {
      var field = _.find(contact.custom_fields_values || [], function (f) { return f.field_code === code; });
      return field ? field.values.map(function (v) { return v.value; }) : [];
    };
    return {
      id: contact.id,
      name: contact.name || '',
      first_name: contact.first_name || '',
      last_name: contact.last_name || '',
      phones: values('PHONE'),
      emails: values('EMAIL')
    };
  }

  return function cardPage(id) {
    var leadId = Number(id);
    var destroyed = false;
    var lead;
    var model;
    var feed;
    var $root;

    function statusSelect() {
      var $select = $('<select class="card-status js-card-status"></select>');
      format.pipelines().forEach(function (pipeline) {
        var $group = $('<optgroup></optgroup>').attr('label', pipeline.name);
        _.sortBy(pipeline.statuses, 'sort').forEach(function (status) {
          $group.append($('<option></option>').attr('value', pipeline.id + ':' + status.id).text(status.name));
        });
        $select.append($group);
      });
      return $select;
    }

    function managerSelect(name) {
      var $select = $('<select></select>').attr('name', name);
      _.each(window.APP.constant('managers'), function (manager) {
        $select.append($('<option></option>').attr('value', manager.id).text(manager.title));
      });
      return $select;
    }

    /** Writes the model's values into the form controls (after a widget or Cancel changes it). */
    function syncForm() {
      $root.find('.js-card-name').val(model.get('lead[NAME]'));
      $root.find('.js-card-price').val(model.get('lead[PRICE]'));
      $root.find('.js-card-status').val(model.get('lead[PIPELINE_ID]') + ':' + model.get('lead[STATUS]'));
      $root.find('.js-card-responsible').val(model.get('MAIN_USER'));
      var lost = Number(model.get('lead[STATUS]')) === LOST && (window.APP.constant('account').loss_reasons || []).length > 0;
      $root.find('.card-field_loss-reason').toggle(lost);
      $root.find('.js-card-loss-reason').val(model.get('lead[LOSS_REASON_ID]'));
      var dirty = !_.isEqual(_.pick(model.attributes, _.keys(model.defaults)), model.defaults);
      $root.find('.card-buttons').toggleClass('card-buttons_dirty', dirty);
    }

    function save() {
      var now = model.attributes;
      var saved = model.defaults;
      var body = {};
      if (now['lead[NAME]'] !== saved['lead[NAME]']) { body.name = now['lead[NAME]']; }
      if (now['lead[PRICE]'] !== saved['lead[PRICE]']) { body.price = Number(now['lead[PRICE]']) || 0; }
      if (now['lead[STATUS]'] !== saved['lead[STATUS]'] || now['lead[PIPELINE_ID]'] !== saved['lead[PIPELINE_ID]']) {
        body.status_id = Number(now['lead[STATUS]']);
        body.pipeline_id = Number(now['lead[PIPELINE_ID]']);
      }
      if (Number(now['lead[STATUS]']) === LOST && now['lead[LOSS_REASON_ID]'] && now['lead[LOSS_REASON_ID]'] !== saved['lead[LOSS_REASON_ID]']) {
        body.status_id = LOST;
        body.pipeline_id = Number(now['lead[PIPELINE_ID]']);
        body.loss_reason_id = Number(now['lead[LOSS_REASON_ID]']);
      }
      if (now.MAIN_USER !== saved.MAIN_USER) { body.responsible_user_id = Number(now.MAIN_USER); }
      if (_.isEmpty(body)) {
        return Promise.resolve();
      }
      var $button = $root.find('.js-card-save').prop('disabled', true);
      return http.patch('/api/v4/leads/' + leadId, body).then(function () {
        model.defaults = _.pick(model.attributes, _.keys(model.defaults));
        window.APP.data.current_card.main_user = Number(model.get('MAIN_USER'));
        syncForm();
        window.APP.notifications.show_message({ header: lead.name, text: lang.t('card.saved') });
      }, function (error) {
        window.APP.notifications.show_message_error({ header: lang.t('common.error'), text: error.message });
      }).then(function () {
        $button.prop('disabled', false);
      });
    }

    function renderFeed() {
      var nowUnix = Math.floor(Date.now() / 1000);
      var items = feed.models.map(function (m) { return m.attributes; });
      var open = _.sortBy(items.filter(function (i) { return i.object_type.id === TASK && !i.status; }), 'complete_till');
      var history = _.sortBy(items.filter(function (i) { return !(i.object_type.id === TASK && !i.status); }), function (i) {
        return i.object_type.id === TASK ? (i.updated_at || i.created_at || 0) : (i.created_at || 0);
      });
      var $notes = $root.find('.js-notes').empty();
      history.concat(open).forEach(function (item) {
        $notes.append(item.object_type.id === TASK ? taskHtml(item, nowUnix) : noteHtml(item));
      });
    }

    function taskHtml(task, nowUnix) {
      var overdue = !task.status && task.complete_till < nowUnix;
      var $wrapper = $('<div class="feed-note-wrapper feed-note-wrapper-task"></div>').attr('data-id', task.id)
        .toggleClass('feed-note-wrapper-task_completed', !!task.status)
        .toggleClass('feed-note-wrapper-task_overdue', overdue);
      var $note = $('<div class="feed-note feed-note-task"></div>').appendTo($wrapper);
      $note.append($('<div class="feed-note__header"></div>').append(
        $('<span class="feed-note__task-date"></span>').text(format.dateTime(task.complete_till)),
        overdue ? $('<span class="feed-note__task-overdue"></span>').text(lang.t('card.overdue')) : null,
        $('<span class="feed-note__task-type"></span>').text(format.taskType(task.task_type_id) || lang.t('card.task')),
        $('<span class="feed-note__task-user"></span>').text(lang.t('card.for') + ' ' + format.userName(task.responsible_user_id))
      ));
      $note.append($('<div class="feed-note__body"></div>').append($('<span class="feed-note__task-text"></span>').text(task.text)));
      if (task.status) {
        $note.append($('<div class="feed-note__task-result"></div>').text(
          lang.t('card.completed') + (task.result && task.result.text ? ': ' + task.result.text : '')));
      } else {
        $note.append(
          $('<div class="feed-note__task-actions"></div>').append(
            $('<button type="button" class="button-input js-task-complete"></button>').text(lang.t('card.complete'))),
          $('<div class="feed-note__task-result-form"></div>').hide().append(
            $('<input type="text" class="text-input js-task-result">').attr('placeholder', lang.t('card.result')),
            $('<button type="button" class="button-input button-input_blue js-task-complete-confirm"></button>').text(lang.t('card.complete')),
            $('<button type="button" class="button-input js-task-complete-cancel"></button>').text(lang.t('common.cancel')))
        );
      }
      return $wrapper;
    }

    function noteHtml(note) {
      return $('<div class="feed-note-wrapper feed-note-wrapper-note"></div>').attr('data-id', note.id).append(
        $('<div class="feed-note"></div>').append(
          $('<div class="feed-note__header"></div>').append(
            $('<span class="feed-note__date"></span>').text(format.dateTime(note.created_at)),
            $('<span class="feed-note__author"></span>').text(format.userName(note.created_by))),
          $('<div class="feed-note__body"></div>').text(note.text || note.note_type)));
    }

    function completeTask(taskId, result) {
      return http.patch('/api/v4/tasks/' + taskId, { is_completed: true, result: { text: result } }).then(function (answer) {
        feed.get(taskId).set({ status: 1, result: { text: result }, updated_at: (answer && answer.updated_at) || Math.floor(Date.now() / 1000) });
        window.APP.notifications.show_message({ header: lead.name, text: lang.t('card.task_done') });
      });
    }

    function addTask() {
      var $compose = $root.find('.feed-compose__task');
      var text = $.trim($compose.find('.js-compose-text').val());
      var deadline = format.parseLocal($compose.find('.js-compose-date').val(), $compose.find('.js-compose-time').val());
      if (!text || !deadline) {
        $compose.addClass('feed-compose_error');
        return Promise.resolve();
      }
      $compose.removeClass('feed-compose_error');
      var task = {
        text: text,
        complete_till: deadline,
        task_type_id: Number($compose.find('.js-compose-type').val()),
        responsible_user_id: Number($compose.find('.js-compose-user').val()),
        entity_id: leadId,
        entity_type: 'leads'
      };
      return http.post('/api/v4/tasks', [task]).then(function (answer) {
        var created = answer._embedded.tasks[0];
        var nowUnix = Math.floor(Date.now() / 1000);
        feed.add(taskItem(_.extend({ id: created.id, is_completed: false, created_at: nowUnix, updated_at: nowUnix }, task)));
        $compose.find('.js-compose-text').val('');
        window.APP.notifications.show_message({ header: lead.name, text: lang.t('card.task_added') });
      });
    }

    function addNote() {
      var $compose = $root.find('.feed-compose__note');
      var text = $.trim($compose.find('.js-compose-note').val());
      if (!text) {
        return Promise.resolve();
      }
      return http.post('/api/v4/leads/' + leadId + '/notes', [{ note_type: 'common', params: { text: text } }]).then(function (answer) {
        var created = answer._embedded.notes[0];
        feed.add(noteItem({ id: created.id, note_type: 'common', params: { text: text }, created_at: Math.floor(Date.now() / 1000),
          created_by: window.APP.constant('user').id }));
        $compose.find('.js-compose-note').val('');
      });
    }

    function renderSources() {
      var $sources = $root.find('.feed-compose__sources').empty();
      widgets.sources().forEach(function (source) {
        $sources.append($('<button type="button" class="button-input js-compose-source"></button>')
          .data('source', source).text(source.text || source.type));
      });
    }

    function fail(error) {
      window.APP.notifications.show_message_error({ header: lang.t('common.error'), text: error.message });
    }

    function build(data) {
      lead = data.lead;
      model = new Backbone.Model(attributesOf(lead));
      model.defaults = _.clone(model.attributes);
      feed = new Backbone.Collection((data.tasks || []).map(taskItem).concat((data.notes || []).map(noteItem)));
      var contacts = ((lead._embedded && lead._embedded.contacts) || []).map(contactData);

      $root = $('<div class="card-holder" id="card_holder"></div>');
      var $left = $('<div class="card-left"></div>');
      var $fields = $('<div class="card-holder__fields linked-form"></div>');
      var field = function (label, $control, className) {
        return $('<div class="card-field"></div>').addClass(className || '').append($('<label class="card-field__label"></label>').text(label), $control);
      };
      var $lossReason = $('<select class="js-card-loss-reason" name="lead[LOSS_REASON_ID]"><option value=""></option></select>');
      (window.APP.constant('account').loss_reasons || []).forEach(function (reason) {
        $lossReason.append($('<option></option>').attr('value', reason.id).text(reason.name));
      });
      $fields.append(
        field(lang.t('leads.price'), $('<input type="number" class="text-input js-card-price" name="lead[PRICE]">')),
        field(lang.t('leads.status'), statusSelect()),
        field(lang.t('card.loss_reason'), $lossReason, 'card-field_loss-reason'),
        field(lang.t('leads.responsible'), managerSelect('MAIN_USER').addClass('js-card-responsible'))
      );
      (lead.custom_fields_values || []).forEach(function (cf) {
        var value = (cf.values || []).map(function (v) {
          return (cf.field_type === 'date' || cf.field_type === 'birthday') ? format.date(v.value) :
            cf.field_type === 'date_time' ? format.dateTime(v.value) : v.value;
        }).join(', ');
        $fields.append($('<div class="linked-form__field"></div>').attr('data-id', cf.field_id).append(
          $('<label class="card-field__label"></label>').text(cf.field_name),
          $('<input type="text" class="text-input" readonly>').attr('name', 'CFV[' + cf.field_id + ']').val(value)));
      });
      var tags = (lead._embedded && lead._embedded.tags) || [];
      if (tags.length) {
        $fields.append(field(lang.t('card.tags'), $('<div class="card-tags"></div>').append(tags.map(function (tag) {
          return $('<span class="pipeline_leads__tag"></span>').text(tag.name);
        }))));
      }
      if (contacts.length) {
        $fields.append(field(lang.t('card.contacts'), $('<div class="card-contacts"></div>').append(contacts.map(function (contact) {
          var $contact = $('<div class="card-contact"></div>').attr('data-id', contact.id).append(
            $('<div class="card-contact__name"></div>').text(contact.name || ('#' + contact.id)));
          contact.phones.forEach(function (phone) {
            $contact.append($('<a class="card-contact__action js-card-contact-action" data-type="phone"></a>').attr('href', 'tel:' + phone).text(phone));
          });
          contact.emails.forEach(function (email) {
            $contact.append($('<a class="card-contact__action js-card-contact-action" data-type="email"></a>').attr('href', 'mailto:' + email).text(email));
          });
          return $contact;
        }))));
      }
      // Linked list elements, one block per list, as amoCRM's card shows them under the list's tab.
      _.each(_.groupBy(data.catalog_elements || [], 'catalog_id'), function (elements) {
        $fields.append(field(elements[0].catalog_name, $('<ul class="card-catalog"></ul>').append(elements.map(function (element) {
          return $('<li class="card-catalog__element"></li>').attr('data-id', element.id)
            .text(element.quantity === 1 ? element.name : element.name + ' × ' + element.quantity);
        })), 'card-field_catalog').attr('data-catalog-id', elements[0].catalog_id));
      });
      var $saveButton = $('<button type="button" class="button-input button-input_blue js-card-save"></button>').text(lang.t('common.save'));
      $left.append(
        $('<div class="card-top-name"></div>').append(
          $('<button type="button" class="card-back js-back-button js-card-back-button"></button>').attr('title', lang.t('common.back')).text('←'),
          $('<input type="text" class="card-top-name__input js-card-name" name="lead[NAME]">'),
          $('<span class="card-top-name__id"></span>').text('#' + lead.id),
          // As in amoCRM, the card names its pipeline as an in-app link back to the board.
          $('<a class="card-top-name__pipeline js-navigate-link"></a>')
            .attr('href', '/leads/pipeline/' + lead.pipeline_id)
            .text((_.findWhere(format.pipelines(), { id: lead.pipeline_id }) || { name: '#' + lead.pipeline_id }).name)),
        $fields,
        $('<div class="card-buttons"></div>').append($saveButton,
          $('<button type="button" class="button-input js-card-cancel"></button>').text(lang.t('common.cancel')))
      );

      var today = format.now().format('YYYY-MM-DD');
      var $types = $('<select class="js-compose-type"></select>');
      _.each(window.APP.constant('task_types'), function (type) {
        $types.append($('<option></option>').attr('value', type.id).text(type.option));
      });
      var $center = $('<div class="card-center"></div>').append(
        $('<div class="notes-wrapper"></div>').append($('<div class="js-notes notes"></div>')),
        $('<div class="feed-compose"></div>').append(
          $('<div class="feed-compose__switcher"></div>').append(
            $('<button type="button" class="feed-compose__switch feed-compose__switch_active" data-mode="task"></button>').text(lang.t('card.task')),
            $('<button type="button" class="feed-compose__switch" data-mode="note"></button>').text(lang.t('card.note'))),
          $('<div class="feed-compose__task"></div>').append(
            $('<input type="date" class="text-input js-compose-date">').val(today),
            $('<input type="time" class="text-input js-compose-time">').val('23:59'),
            $types,
            managerSelect('responsible_user_id').addClass('js-compose-user').val(String(window.APP.constant('user').id)),
            $('<input type="text" class="text-input feed-compose__text js-compose-text">').attr('placeholder', lang.t('card.task_text')),
            $('<button type="button" class="button-input button-input_blue js-compose-add-task"></button>').text(lang.t('card.add_task'))),
          $('<div class="feed-compose__note"></div>').hide().append(
            $('<textarea class="text-input feed-compose__text js-compose-note"></textarea>').attr('placeholder', lang.t('card.note_text')),
            $('<button type="button" class="button-input button-input_blue js-compose-add-note"></button>').text(lang.t('card.add_note'))),
          $('<div class="feed-compose__sources"></div>'))
      );
      var $widgets = $('<div id="widgets_block" class="card-widgets"></div>').append(
        $('<div class="card-widgets__top"></div>'),
        $('<div id="nano-card-widgets" class="card-widgets__elements"></div>'));
      $root.append($left, $center, $widgets);

      // Saving is delegated on the card, so a widget's own handler on the button runs first
      // and can stop it by returning false, as on amoCRM's card.
      $root
        .on('input change', '.js-card-name', function () { model.set('lead[NAME]', this.value); })
        .on('input change', '.js-card-price', function () { model.set('lead[PRICE]', this.value); })
        .on('change', '.js-card-status', function () {
          var parts = this.value.split(':');
          model.set({ 'lead[PIPELINE_ID]': parts[0], 'lead[STATUS]': parts[1] });
        })
        .on('change', '.js-card-loss-reason', function () { model.set('lead[LOSS_REASON_ID]', this.value); })
        .on('change', '.js-card-responsible', function () { model.set('MAIN_USER', this.value); })
        .on('click', '.js-card-save', function () { save(); })
        .on('click', '.js-card-cancel', function () { model.set(model.defaults); })
        .on('click', '.js-task-complete', function () {
          $(this).closest('.feed-note').find('.feed-note__task-result-form').show().find('.js-task-result').focus();
        })
        .on('click', '.js-task-complete-cancel', function () {
          $(this).closest('.feed-note__task-result-form').hide();
        })
        .on('click', '.js-task-complete-confirm', function () {
          var $wrapper = $(this).closest('.feed-note-wrapper-task');
          completeTask(Number($wrapper.attr('data-id')), $.trim($wrapper.find('.js-task-result').val())).catch(fail);
        })
        .on('click', '.feed-compose__switch', function () {
          var mode = $(this).attr('data-mode');
          $root.find('.feed-compose__switch').removeClass('feed-compose__switch_active');
          $(this).addClass('feed-compose__switch_active');
          $root.find('.feed-compose__task').toggle(mode === 'task');
          $root.find('.feed-compose__note').toggle(mode === 'note');
        })
        .on('click', '.js-compose-add-task', function () { addTask().catch(fail); })
        .on('click', '.js-compose-add-note', function () { addNote().catch(fail); })
        .on('click', '.js-compose-source', function () {
          var source = $(this).data('source');
          var text = $.trim($root.find('.js-compose-note').val());
          var contact = contacts[0] || {};
          Promise.resolve(source.handler({ phone: (contact.phones || [])[0] || '', message: text, contact_id: contact.id || null }))
            .catch(function (error) { console.error('Widget "' + source.code + '": source handler failed', error); });
        })
        .on('click', '.js-card-contact-action', function (e) {
          var handlers = widgets.actions($(this).attr('data-type'));
          if (handlers.length) {
            e.preventDefault();
            var value = $(this).text();
            var contactId = Number($(this).closest('.card-contact').attr('data-id'));
            handlers.forEach(function (action) {
              try {
                action.handler({ value: value, element_id: contactId, element_type: window.APP.element_types.contacts });
              } catch (error) {
                console.error('Widget "' + action.code + '": action handler failed', error);
              }
            });
          }
        })
        .on('click', '.js-widget-caption-block', function () {
          $(this).closest('.card-widgets__widget').toggleClass('card-widgets__widget_collapsed');
        });

      model.on('change', syncForm);
      feed.on('add change remove', renderFeed);
      $(document).on('widgets:sources_changed.card', renderSources);
      widgets.setContactsProvider(function () { return Promise.resolve(contacts); });

      window.APP.data.current_card = {
        id: lead.id,
        element_type: window.APP.element_types.leads,
        main_user: lead.responsible_user_id,
        model: model,
        form: { model: model, $el: $left },
        $save_btn: $saveButton,
        notes: { notes: feed },
        getPipelineId: function () { return Number(model.get('lead[PIPELINE_ID]')); }
      };
      return $root;
    }

    return {
      entity: 'leads',
      widgetsArea: 'leads_card',
      area: 'lcard',
      isCard: true,
      menu: 'leads',
      title: lang.t('leads.title'),

      render: function ($holder) {
        return http.get('/ajax/sandbox/leads/' + leadId + '/card').then(function (data) {
          if (destroyed) {
            return;
          }
          $holder.append(build(data));
          syncForm();
          renderFeed();
        });
      },

      destroy: function () {
        destroyed = true;
        $(document).off('.card');
        if (model) {
          model.off();
          feed.off();
        }
      }
    };
  };
});
