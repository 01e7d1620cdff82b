/**
 * The current time as reactive state, refreshed every `intervalMs` while the component that called this is
 * mounted (a live lag ticks with it). Call during a component's initialisation.
 */
export function ticking(intervalMs = 1000): { readonly current: number } {
  let now = $state(Date.now());
  $effect(() => {
    const timer = setInterval(() => (now = Date.now()), intervalMs);
    return () => clearInterval(timer);
  });
  return {
    get current() {
      return now;
    },
  };
}
