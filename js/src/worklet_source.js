// Placeholder. vatel_nb/widget/_bundle.py replaces this module, in the bundle only, with
// `const WORKLET_SOURCE = "<every *.worklet.js with its imports, as one script>"`; the engine
// loads it with audioWorklet.addModule(Blob URL). Loading js/src unbundled has no worklets.
export const WORKLET_SOURCE = null;
