// Loads the WebAssembly module; its start function renders the app into <body>.
import init from './playground.js';

try {
  await init();
  document.getElementById('loading')?.remove();
} catch (error) {
  const loading = document.getElementById('loading');
  if (loading) {
    loading.textContent = `The playground could not start: ${error}`;
    loading.classList.add('failed');
  }
  throw error;
}
