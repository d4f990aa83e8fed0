// React Fast Refresh, as a bundler's dev server runs it: the runtime hooks into React before
// react-dom loads (so this module is imported before @testing-library/react).
import RefreshRuntime from "react-refresh/runtime";

RefreshRuntime.injectIntoGlobalHook(globalThis);

export default RefreshRuntime;
