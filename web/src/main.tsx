import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { loadEcharts } from './components/Chart.js';
import './styles.css';

// Fetched in parallel with the first page's API call, not after it.
void loadEcharts();

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
