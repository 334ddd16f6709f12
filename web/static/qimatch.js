// Starts nhsuk-frontend's components (the header's "More" menu, the error summary's focus and links,
// radios and checkboxes). A module file, never an inline script: the CSP allows scripts from 'self'
// only. Every page still works without JavaScript.
import { initAll } from "./nhsuk/nhsuk-frontend.min.js";

// What nhsuk-frontend's page template does in an inline script: the CSS shows the JS-only parts
// (the header's menu button) only when these classes are on the body.
document.body.classList.add("js-enabled", "nhsuk-frontend-supported");
initAll();
