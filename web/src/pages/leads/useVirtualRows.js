// A small virtual list: rows of one fixed height in a scrolling box; only the rows in view
// (plus `overscan` above and below) are rendered, so a list of a million rows costs the DOM of
// a screenful. The box fills the window below its top edge (at least `minHeight`).
//
//   const v = useVirtualRows({ count, rowHeight, overscan: 8 });
//   <div ref={v.scrollRef} onScroll={v.onScroll} style={{ height: v.height }}>
//     <div style={{ height: v.totalHeight, position: "relative" }}>
//       {range(v.start, v.end).map((i) => <Row style={{ top: i * rowHeight }} />)}
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";

export function useVirtualRows({ count, rowHeight, overscan = 8, minHeight = 320, bottomGap = 16 }) {
  const scrollRef = useRef(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);

  const measure = useCallback(() => {
    const box = scrollRef.current;
    if (!box) return;
    const top = box.getBoundingClientRect().top + window.scrollY;
    setHeight(Math.max(minHeight, window.innerHeight - top - bottomGap));
  }, [minHeight, bottomGap]);

  useLayoutEffect(measure, [measure]);
  useEffect(() => {
    window.addEventListener("resize", measure);
    return () => window.removeEventListener("resize", measure);
  }, [measure]);

  const onScroll = useCallback((event) => setScrollTop(event.currentTarget.scrollTop), []);
  const first = Math.floor(scrollTop / rowHeight);
  const visible = Math.ceil(height / rowHeight);
  const start = Math.max(0, first - overscan);
  const end = Math.min(count, first + visible + overscan);

  /** Scrolls so that row `index` is in view (keyboard navigation). */
  const scrollToIndex = useCallback((index) => {
    const box = scrollRef.current;
    if (!box) return;
    const top = index * rowHeight;
    if (top < box.scrollTop) box.scrollTop = top;
    else if (top + rowHeight > box.scrollTop + box.clientHeight) box.scrollTop = top + rowHeight - box.clientHeight;
  }, [rowHeight]);

  return { scrollRef, onScroll, height, totalHeight: count * rowHeight, start, end, lastVisible: first + visible, scrollToIndex };
}
