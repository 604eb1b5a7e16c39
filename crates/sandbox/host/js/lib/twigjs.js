/**
 * The `twigjs` AMD module amoCRM pages provide: Twig.js 0.8.x exposed as the callable
 * `twig(params)` factory (widgets call `twig({id, data})` and then `.render(params)`),
 * with the rest of Twig.js's exports (`extendFilter`, `extendFunction`, `cache`, ...)
 * attached to it. Twig.js itself also leaves its internal `Twig` object on `window`,
 * which is where widgets find the global template registry (`Twig.Templates.registry`).
 */
define(['twig'], function (TwigExports) {
  'use strict';

  var twigjs = function (params) {
    return TwigExports.twig(params);
  };
  Object.keys(TwigExports).forEach(function (key) {
    twigjs[key] = TwigExports[key];
  });
  return twigjs;
});
