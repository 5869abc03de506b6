// anywidget entry of the call view (CallView): `export default { render }`. The HTML export bundles
// this same module and calls renderStaticPage (view_static.js) instead.
import { renderCallView } from "./view_ui.js";
import { commSource } from "./view_player.js";
import { renderStaticPage } from "./view_static.js";

/** For the HTML file (one shared scope with the bundle): render the page's own data. */
export function bootStaticPage() {
  const el = document.getElementById("vatel-view");
  if (el) renderStaticPage(document, el);
}

export default {
  /** @param {{model: any, el: HTMLElement}} ctx */
  render({ model, el }) {
    return renderCallView(model, el, commSource(model));
  },
};
