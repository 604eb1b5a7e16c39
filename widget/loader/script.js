// LeakGuard loader: the AMD module amoCRM loads. It has no logic of its own:
// it loads the wasm-bindgen glue once per page and forwards every callback,
// in amoCRM's order, to the wasm export of the same name (snake_case).
define(['jquery'], function ($) {
  'use strict';

  // One load per page, shared by every widget instance.
  var wasm = null;

  function load(self) {
    if (!wasm) {
      var base = (self.params.cdn_path || self.params.path) + '/';
      var version = self.get_version();
      wasm = import(base + 'leakguard.js?v=' + version)
        .then(function (m) {
          return m.default({ module_or_path: base + 'leakguard_bg.wasm?v=' + version }).then(function () {
            return m;
          });
        })
        .catch(function (error) {
          console.error('LeakGuard: the widget code could not be loaded', error);
          return null;
        });
    }
    return wasm;
  }

  return function () {
    var self = this;
    // Every call of this instance waits for the previous one, so Rust sees amoCRM's order.
    var queue = Promise.resolve();

    function forward(name, args) {
      var result = queue
        .then(function () {
          return load(self);
        })
        .then(function (m) {
          return m ? m[name].apply(null, [self, $].concat(Array.prototype.slice.call(args))) : true;
        });
      queue = result.catch(function (error) {
        console.error('LeakGuard: ' + name + ' failed', error);
      });
      return result;
    }

    function sync(name) {
      return function () {
        forward(name, arguments);
        return true;
      };
    }

    this.callbacks = {
      render: sync('render'),
      init: sync('init'),
      bind_actions: sync('bind_actions'),
      settings: sync('settings'),
      onSave: function () {
        return forward('on_save', arguments);
      },
      destroy: sync('destroy'),
      advancedSettings: sync('advanced_settings'),
      leads: { selected: sync('leads_selected') },
      contacts: { selected: sync('contacts_selected') },
      todo: { selected: sync('todo_selected') },
      tasks: { selected: sync('tasks_selected') }
    };
    return this;
  };
});
