// Debounce: call fn only after `wait` ms without another call.
function debounce(fn, wait) {
  let timer = null;
  return function (...args) {
    clearTimeout(timer);
    timer = setTimeout(() => fn.apply(this, args), wait);
  };
}

const log = debounce((msg) => console.log(`saved: ${msg}`), 200);
document.querySelector('#editor').addEventListener('input', (event) => {
  log(event.target.value);
});
module.exports = { debounce };
