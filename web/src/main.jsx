// Entry point: the desk's styles, link interception and <App/> mounted into #app.
import { render } from "preact";
import "./styles.css";
import { App } from "./app.jsx";
import { installLinkInterception } from "./lib/router.js";

installLinkInterception();
render(<App />, document.getElementById("app"));
