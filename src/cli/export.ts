/**
 * `pixelgrad export --checkpoint <file> --format onnx --out model.onnx`: a trained checkpoint as an
 * ONNX graph (opset 13, dynamic batch) for ONNX Runtime and other frameworks.
 */
import { Option, type Command } from 'commander';
import { saveOnnx } from '../io/onnx/node.js';
import { ONNX_OPSET } from '../io/onnx/export.js';
import type { CheckpointModel } from './explain.js';

export interface ExportCliOptions { checkpoint: string; format: 'onnx'; out: string }

/** Exports the checkpoint; returns the line the command prints. */
export function runExport(o: ExportCliOptions, loadModel: (path: string) => CheckpointModel): string {
  const { model, inputShape, classes } = loadModel(o.checkpoint);
  saveOnnx(o.out, model, { inputShape });
  const params = model.parameters().reduce((n, p) => n + p.size, 0);
  return `wrote ${o.out}: ONNX opset ${ONNX_OPSET}, input [N,${inputShape.join(',')}], ${classes.length} classes, ${params.toLocaleString('en')} parameters`;
}

export function registerExportCommand(program: Command, loadModel: (path: string) => CheckpointModel): void {
  program.command('export')
    .description('write a checkpoint\'s model as an ONNX graph (opset 13, any batch size) for ONNX Runtime, PyTorch and other tools')
    .requiredOption('--checkpoint <file>', 'a checkpoint written by train')
    .addOption(new Option('--format <format>', 'output format').choices(['onnx']).default('onnx'))
    .requiredOption('--out <file>', 'the file to write, e.g. model.onnx')
    .action((o: ExportCliOptions) => { console.log(runExport(o, loadModel)); });
}
